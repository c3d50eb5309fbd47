package training

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"bulwark"
	"bulwark/internal/sqlstore"
)

// BenchmarkReadCompletions reads a 100,000-row LMS export.
func BenchmarkReadCompletions(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("User ID,Email Address,Department,Completion Status,Completion Date,Score\n")
	for i := range 100_000 {
		fmt.Fprintf(&sb, "%d,person%d@city.example,Operations,Completed,2026-03-02 14:10:00,%d\n", i, i, i%101)
	}
	src := sb.String()
	b.SetBytes(int64(len(src)))
	for b.Loop() {
		got, err := ReadCompletions("b.csv", strings.NewReader(src), opts())
		if err != nil || len(got.Completions) != 100_000 {
			b.Fatal(err)
		}
	}
}

func benchStore(b *testing.B, orgs int) (*Service, *sqlstore.DB) {
	b.Helper()
	ctx := sysCtx()
	db, err := sqlstore.Open(ctx, filepath.Join(b.TempDir(), "b.db"), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	tx, err := db.BeginImport(ctx)
	if err != nil {
		b.Fatal(err)
	}
	var os []bulwark.Organization
	for i := range orgs {
		os = append(os, bulwark.Organization{ID: fmt.Sprintf("org-%03d", i), Name: "Org", Purview: bulwark.PurviewCity})
	}
	if err := tx.PutOrganizations(ctx, os); err != nil {
		b.Fatal(err)
	}
	if _, err := tx.Commit(ctx); err != nil {
		b.Fatal(err)
	}
	return New(db, nil), db
}

// BenchmarkImportCompletions imports a 100,000-row LMS export into a
// fresh campaign of a SQLite store: parse, pseudonymize, merge, store.
func BenchmarkImportCompletions(b *testing.B) {
	s, _ := benchStore(b, 1)
	var sb strings.Builder
	sb.WriteString("Email Address,Completion Status,Completion Date,Score\n")
	for i := range 100_000 {
		fmt.Fprintf(&sb, "person%d@city.example,Completed,2026-03-02 14:10:00,%d\n", i, i%101)
	}
	src := sb.String()
	day := time.Now().UTC().Truncate(24 * time.Hour)
	b.SetBytes(int64(len(src)))
	for b.Loop() {
		c := &bulwark.Campaign{Org: "org-000", Kind: bulwark.CampaignWorkforce, Title: "x", Start: day.AddDate(0, -1, 0), Due: day}
		if err := s.CreateCampaign(sysCtx(), c); err != nil {
			b.Fatal(err)
		}
		res, err := s.Import(sysCtx(), c.ID, Completions, "b.csv", strings.NewReader(src), ReadOptions{})
		if err != nil || res.Created != 100_000 {
			b.Fatal(err, res)
		}
	}
}

// BenchmarkRates computes the city's dashboard over 200 organizations
// with 8 campaigns each (4 courses, 4 phishing simulations) of 250
// people: 400,000 records.
func BenchmarkRates(b *testing.B) {
	s, db := benchStore(b, 200)
	ctx := sysCtx()
	now := time.Now().UTC().Truncate(24 * time.Hour)
	for o := range 200 {
		org := fmt.Sprintf("org-%03d", o)
		for k := range 8 {
			c := &bulwark.Campaign{Org: org, Kind: bulwark.CampaignWorkforce, Title: "c", Start: now.AddDate(0, -3*k-1, 0), Due: now.AddDate(0, -3*k, -1)}
			if k%2 == 1 {
				c.Kind, c.Due = bulwark.CampaignPhishing, time.Time{}
			}
			if err := db.CreateCampaign(ctx, c); err != nil {
				b.Fatal(err)
			}
			var batch bulwark.TrainingBatch
			for i := range 250 {
				p := bulwark.PersonRef(fmt.Sprintf("%032x", i))
				if c.Kind == bulwark.CampaignWorkforce {
					r := bulwark.CompletionRecord{Person: p}
					if i%4 != 0 {
						r.CompletedAt = c.Due.Add(-time.Duration(i) * time.Hour)
					}
					batch.Completions = append(batch.Completions, r)
				} else {
					r := bulwark.PhishingResult{Person: p, SentAt: c.Start}
					if i%7 == 0 {
						r.ClickedAt = c.Start.Add(time.Hour)
					}
					batch.Phishing = append(batch.Phishing, r)
				}
			}
			if _, err := db.PutTrainingRecords(ctx, c.ID, batch); err != nil {
				b.Fatal(err)
			}
		}
	}
	for b.Loop() {
		d, err := s.Rates(ctx, bulwark.CampaignFilter{}, 12)
		if err != nil || len(d.ByOrg) != 200 || !d.Total.Completion.Measured {
			b.Fatal(err)
		}
	}
}
