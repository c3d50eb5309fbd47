package demo

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"bulwark"
	"bulwark/internal/baseline"
	"bulwark/internal/citymodel"
	"bulwark/internal/incident"
	"bulwark/internal/sharing"
	"bulwark/internal/sqlstore"
)

// demoDB opens a fresh SQLite store with the demo city imported.
func demoDB(t *testing.T) (context.Context, *sqlstore.DB) {
	t.Helper()
	ctx := bulwark.WithPrincipal(context.Background(), bulwark.SystemPrincipal())
	db, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "demo.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := citymodel.Import(ctx, db, []citymodel.Source{CitySource()}, citymodel.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	return ctx, db
}

func orgCtx(org string) context.Context {
	return bulwark.WithPrincipal(context.Background(), bulwark.Principal{UserID: 0, Org: org, Role: bulwark.RoleAnalyst, Name: "analyst@" + org})
}

// TestSeedIncidents: the three demo incidents exist on their playbooks in
// their phases, the closed one with its review; the owner sees its
// incident and an organization outside it does not; seeding twice changes
// nothing.
func TestSeedIncidents(t *testing.T) {
	ctx, db := demoDB(t)
	svc := incident.New(db, baseline.New(db, nil), nil)
	now := time.Now().UTC()
	if err := SeedIncidents(ctx, db, svc, now); err != nil {
		t.Fatal(err)
	}
	want := []struct {
		id, owner, playbook string
		phase               bulwark.Phase
		review              bool
	}{
		{"demo-inc-water-ransomware", "city-water", "ransomware", bulwark.PhaseContainment, false},
		{"demo-inc-311-ddos", "city-it", "ddos-citizen-services", bulwark.PhaseClosed, true},
		{"demo-inc-traffic-camera-botnet", "city-transport", "iot-fleet-compromise", bulwark.PhaseDetection, false},
	}
	for _, w := range want {
		t.Run(w.id, func(t *testing.T) {
			inc, err := svc.Find(ctx, w.id)
			if err != nil {
				t.Fatal(err)
			}
			if inc.Owner != w.owner || inc.Playbook != w.playbook || inc.Phase != w.phase || len(inc.Tasks) == 0 || inc.Severity.Level == 0 {
				t.Errorf("owner %s playbook %s phase %s, %d tasks, level %d", inc.Owner, inc.Playbook, inc.Phase, len(inc.Tasks), inc.Severity.Level)
			}
			if d := now.Sub(inc.DetectedAt); d <= 0 || d > 30*24*time.Hour {
				t.Errorf("detected %s before now", d)
			}
			_, err = svc.Review(ctx, w.id)
			if got := err == nil; got != w.review {
				t.Errorf("review present %v, want %v (%v)", got, w.review, err)
			}
			// The owner sees it; an organization that is no party does not.
			if _, err := svc.Find(orgCtx(w.owner), w.id); err != nil {
				t.Errorf("owner %s: %v", w.owner, err)
			}
			if inc, err := svc.Find(orgCtx("university"), w.id); bulwark.ErrorCode(err) != bulwark.ENOTFOUND {
				t.Errorf("outsider sees %v, err %v", inc != nil, err)
			}
		})
	}
	all, err := svc.List(ctx, bulwark.IncidentFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if err := SeedIncidents(ctx, db, svc, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	again, err := svc.List(ctx, bulwark.IncidentFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != len(want) || len(again) != len(all) {
		t.Errorf("%d incidents, %d after seeding again; want %d", len(all), len(again), len(want))
	}
}

// TestSeedIntel: the community's members see what each marking lets them
// see — TLP:GREEN everyone, TLP:AMBER the named organizations,
// TLP:AMBER+STRICT the water department (and the publisher) alone — and an organization
// outside the community sees no collection; seeding twice changes nothing.
func TestSeedIntel(t *testing.T) {
	ctx, db := demoDB(t)
	svc := sharing.New(db, nil)
	defer svc.Close()
	now := time.Now().UTC()
	if err := SeedIntel(ctx, db, svc, now); err != nil {
		t.Fatal(err)
	}
	if err := SeedIntel(ctx, db, svc, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	typesOf := func(org string) ([]string, error) {
		p, err := svc.Objects(orgCtx(org), DemoCollection, sharing.Query{}, "")
		if err != nil {
			return nil, err
		}
		var ts []string
		for _, it := range p.Items {
			ts = append(ts, it.Type+"/"+string(it.Marking))
		}
		slices.Sort(ts)
		return ts, nil
	}
	green := []string{"course-of-action/" + string(bulwark.TLPGreen), "relationship/" + string(bulwark.TLPGreen), "vulnerability/" + string(bulwark.TLPGreen)}
	with := func(extra ...string) []string {
		out := append(slices.Clone(green), extra...)
		slices.Sort(out)
		return out
	}
	ind := "indicator/" + string(bulwark.TLPAmber)
	rep := "report/" + string(bulwark.TLPAmberStrict)
	for _, c := range []struct {
		org  string
		want []string
	}{
		{"city-ciso", with(ind, rep)}, // the publisher sees what it published
		{"port-authority", with(ind)},
		{"electric-utility", with(ind)},
		{"city-water", with(rep)},
		{"hospital", green},
	} {
		got, err := typesOf(c.org)
		if err != nil {
			t.Errorf("%s: %v", c.org, err)
			continue
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("%s sees %v, want %v", c.org, got, c.want)
		}
	}
	if got, err := typesOf("university"); bulwark.ErrorCode(err) != bulwark.ENOTFOUND {
		t.Errorf("outsider: %v, err %v; want ENOTFOUND", got, err)
	}
}
