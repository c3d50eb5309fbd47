package sqlstore

import (
	"context"
	"strings"
	"testing"
	"time"

	"bulwark"
	"bulwark/internal/storetest"
	"bulwark/internal/testenv"
)

func TestSQLiteIncidents(t *testing.T) {
	storetest.RunIncidents(t, func(t *testing.T) bulwark.Store { return openSQLite(t) })
}

func TestPostgresIncidents(t *testing.T) {
	testenv.PostgresDSN(t)
	storetest.RunIncidents(t, func(t *testing.T) bulwark.Store { return openPostgres(t) })
}

// TestIncidentTimelineAppendOnly: the database itself refuses to change
// or remove timeline entries and review revisions, whatever code runs.
func TestIncidentTimelineAppendOnly(t *testing.T) {
	for name, open := range map[string]func(testing.TB) *DB{"sqlite": openSQLite, "postgres": func(tb testing.TB) *DB {
		testenv.PostgresDSN(tb)
		return openPostgres(tb)
	}} {
		t.Run(name, func(t *testing.T) {
			db := open(t)
			ctx := bulwark.WithPrincipal(context.Background(), bulwark.SystemPrincipal())
			tx, err := db.BeginImport(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if err := tx.PutOrganizations(ctx, []bulwark.Organization{{ID: "water", Name: "Water", Purview: bulwark.PurviewCity}}); err != nil {
				t.Fatal(err)
			}
			if _, err := tx.Commit(ctx); err != nil {
				t.Fatal(err)
			}
			inc := &bulwark.Incident{Owner: "water", Title: "x", Phase: bulwark.PhaseDetection, DetectedAt: time.Now()}
			if err := db.CreateIncident(ctx, inc, []bulwark.TimelineEntry{{Kind: "reported", Text: "reported"}}); err != nil {
				t.Fatal(err)
			}
			if err := db.PutReview(ctx, inc.ID, &bulwark.IncidentReview{Summary: "s"}); err != nil {
				t.Fatal(err)
			}
			for _, stmt := range []string{
				"UPDATE incident_timeline SET text = 'rewritten'",
				"DELETE FROM incident_timeline",
				"UPDATE incident_reviews SET body = '{}'",
				"DELETE FROM incident_reviews",
			} {
				_, err := db.w.ExecContext(ctx, stmt)
				if err == nil || !strings.Contains(err.Error(), "append-only") {
					t.Errorf("%s: %v, want a refusal", stmt, err)
				}
			}
			tl, err := db.Timeline(ctx, inc.ID)
			if err != nil || len(tl) != 2 || tl[0].Text != "reported" {
				t.Errorf("timeline after the attempts: %+v (%v)", tl, err)
			}
		})
	}
}
