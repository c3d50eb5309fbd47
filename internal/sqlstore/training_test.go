package sqlstore

import (
	"testing"

	"bulwark"
	"bulwark/internal/storetest"
	"bulwark/internal/testenv"
)

func TestSQLiteTraining(t *testing.T) {
	storetest.RunTraining(t, func(t *testing.T) bulwark.Store { return openSQLite(t) })
}

func TestPostgresTraining(t *testing.T) {
	testenv.PostgresDSN(t)
	storetest.RunTraining(t, func(t *testing.T) bulwark.Store { return openPostgres(t) })
}
