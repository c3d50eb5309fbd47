package sqlstore

import (
	"testing"

	"bulwark"
	"bulwark/internal/storetest"
	"bulwark/internal/testenv"
)

func TestSQLiteNotifications(t *testing.T) {
	storetest.RunNotifications(t, func(t *testing.T) bulwark.Store { return openSQLite(t) })
}

func TestPostgresNotifications(t *testing.T) {
	testenv.PostgresDSN(t)
	storetest.RunNotifications(t, func(t *testing.T) bulwark.Store { return openPostgres(t) })
}
