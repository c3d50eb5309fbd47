package sqlstore

import (
	"testing"

	"bulwark"
	"bulwark/internal/storetest"
	"bulwark/internal/testenv"
)

func TestSQLiteIntelFeeds(t *testing.T) {
	storetest.RunIntelFeeds(t, func(t *testing.T) bulwark.Store { return openSQLite(t) })
}

func TestPostgresIntelFeeds(t *testing.T) {
	testenv.PostgresDSN(t)
	storetest.RunIntelFeeds(t, func(t *testing.T) bulwark.Store { return openPostgres(t) })
}
