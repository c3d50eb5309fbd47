package sharing_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"bulwark/internal/sharing"
	"bulwark/internal/sharing/sharingtest"
	"bulwark/internal/stix"
)

// waitFilled waits until the body log at path holds at least size bytes.
func waitFilled(t *testing.T, path string, size int64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if st, _ := os.Stat(path); st != nil && st.Size() >= size {
			time.Sleep(50 * time.Millisecond) // the index of the last batch
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("body log not filled")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// sameObjects fails unless svc answers u exactly as want.
func sameObjects(t *testing.T, what string, svc *sharing.Service, u *sharingtest.User, col string, want *sharing.Page) {
	t.Helper()
	got, err := svc.Objects(u.Ctx(), col, sharing.Query{Limit: 1000}, "")
	if err != nil || len(got.Items) != len(want.Items) {
		t.Fatalf("%s: %v, %d items, want %d", what, err, len(got.Items), len(want.Items))
	}
	for i := range got.Items {
		if !bytes.Equal(got.Items[i].Body, want.Items[i].Body) || got.Items[i].STIXID != want.Items[i].STIXID {
			t.Fatalf("%s: item %d differs", what, i)
		}
	}
}

// The body log with PostgreSQL, where several servers share a database:
// each process has its own log, a second one given the same file runs
// without (rather than share it), and a log of another database (another
// schema, so another intel secret) is not used for this one.
func TestBodyLogPostgres(t *testing.T) {
	f := newFixtureOn(t, true)
	now := time.Now().UTC().Truncate(time.Millisecond)
	var objs []*stix.Object
	for range 200 {
		o, _ := stix.ParseObject(indicator(newID(), now, stix.TLPGreenID), stix.Limits{})
		objs = append(objs, o)
	}
	if _, err := f.w.Svc.AddObjects(f.water.Ctx(), f.col, objs, sharing.AddOptions{Source: "feed:partner"}); err != nil {
		t.Fatal(err)
	}
	want, err := f.w.Svc.Objects(f.power.Ctx(), f.col, sharing.Query{Limit: 1000}, "")
	if err != nil || len(want.Items) != 200 {
		t.Fatalf("%v %d", err, len(want.Items))
	}
	path := filepath.Join(t.TempDir(), "bodies")
	one := sharing.New(f.w.Store, nil)
	one.SetBodyLog(path)
	if err := one.Load(f.power.Ctx()); err != nil {
		t.Fatal(err)
	}
	waitFilled(t, path, 200*300)
	sameObjects(t, "filled", one, f.power, f.col, want)
	if n := one.BodyLogHits(); n < 200 {
		t.Errorf("the filled log served %d bodies of 200: its keys do not match the index's", n)
	}

	// A second process given the same file: it answers alike from the
	// database and leaves the first one's log alone.
	two := sharing.New(f.w.Store, nil)
	two.SetBodyLog(path)
	if err := two.Load(f.power.Ctx()); err != nil {
		t.Fatal(err)
	}
	defer two.Close()
	size := fileSize(path)
	sameObjects(t, "second process", two, f.power, f.col, want)
	if n := two.BodyLogHits(); n != -1 {
		t.Errorf("the second process has a body log (%d hits)", n)
	}
	// New objects reach both; only the first appends to the file.
	o, _ := stix.ParseObject(indicator(newID(), now, stix.TLPGreenID), stix.Limits{})
	if _, err := two.AddObjects(f.water.Ctx(), f.col, []*stix.Object{o}, sharing.AddOptions{}); err != nil {
		t.Fatal(err)
	}
	want, _ = f.w.Svc.Objects(f.power.Ctx(), f.col, sharing.Query{Limit: 1000}, "")
	sameObjects(t, "after an addition, second", two, f.power, f.col, want)
	sameObjects(t, "after an addition, first", one, f.power, f.col, want)
	waitFilled(t, path, size+300)
	sameObjects(t, "appended", one, f.power, f.col, want)
	one.Close()

	// Another database (another schema) given the file: it is not used for
	// it but started afresh.
	g := newFixtureOn(t, true)
	if _, err := g.w.Svc.AddObjects(g.water.Ctx(), g.col, objs[:10], sharing.AddOptions{}); err != nil {
		t.Fatal(err)
	}
	other := sharing.New(g.w.Store, nil)
	other.SetBodyLog(path)
	if err := other.Load(g.power.Ctx()); err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	gwant, _ := g.w.Svc.Objects(g.power.Ctx(), g.col, sharing.Query{Limit: 1000}, "")
	sameObjects(t, "another database", other, g.power, g.col, gwant)
	waitFilled(t, path, 10*300)
	if s := fileSize(path); s >= size {
		t.Errorf("another database's log kept: %d bytes (was %d)", s, size)
	}
	sameObjects(t, "another database, filled", other, g.power, g.col, gwant)
}

func fileSize(path string) int64 {
	st, err := os.Stat(path)
	if err != nil {
		return -1
	}
	return st.Size()
}
