package intelfeed

import (
	"context"
	"testing"
	"time"

	"bulwark"
	"bulwark/internal/auth"
	"bulwark/internal/sharing"
	"bulwark/internal/sharing/sharingtest"
	"bulwark/internal/sqlstore"
	"bulwark/internal/stix"
	"bulwark/internal/testenv"
)

// TestPostgresPulls: the city on PostgreSQL pulls with resumption, and
// River's queue on PostgreSQL (the store's database) works the jobs.
func TestPostgresPulls(t *testing.T) {
	testenv.PostgresDSN(t)
	i := newISAC(t)
	base := time.Now().UTC().Add(-time.Hour).Truncate(time.Millisecond)
	var objs []*stix.Object
	for range 120 {
		objs = append(objs, obj(t, newID("indicator"), base, []string{stix.Green.ID()}, nil))
	}
	i.post(t, objs...)
	c := newCityOn(t, true, Config{PageSize: 50})
	f := c.subscribe(t, i, nil)
	ctx, cancel := context.WithCancel(sharingtest.SysCtx())
	testHookPage = func(feed string, pages int) {
		if pages == 1 {
			cancel()
		}
	}
	res, err := c.svc.Pull(ctx, f.ID, nil)
	testHookPage = nil
	if err != nil || res.New != 50 {
		t.Fatalf("interrupted pull: %+v, %v", res, err)
	}
	res = c.pull(t, f.ID)
	if res.Err != nil || res.New != 70 || res.Duplicates != 0 || len(c.stored(t)) != 120 {
		t.Fatalf("resumed pull: %+v, %d stored", res, len(c.stored(t)))
	}

	// River on PostgreSQL: the store and the queue in one schema; the
	// job queue pulls the due feed on its own.
	dsn := testenv.PostgresSchemaDSN(t)
	st, err := sqlstore.Open(context.Background(), dsn, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	sys := sharingtest.SysCtx()
	tx, err := st.BeginImport(sys)
	if err != nil {
		t.Fatal(err)
	}
	tx.PutOrganizations(sys, sharingtest.Orgs("city", "water"))
	if _, err := tx.Commit(sys); err != nil {
		t.Fatal(err)
	}
	w := &sharingtest.World{Store: st, Auth: auth.New(st, auth.Options{Argon: sharingtest.Cheap}, nil), Svc: sharing.New(st, nil)}
	admin := w.AddUser(t, "city", bulwark.RoleAdmin)
	if err := w.Svc.CreateCommunity(admin.Ctx(), &bulwark.Community{ID: "metro", Name: "Metro", Members: []bulwark.CommunityMember{{Org: "city", Owner: true}}}); err != nil {
		t.Fatal(err)
	}
	col := &bulwark.Collection{Community: "metro", Title: "Intel"}
	if err := w.Svc.CreateCollection(admin.Ctx(), col); err != nil {
		t.Fatal(err)
	}
	cfg := c.svc.cfg
	cfg.DSN, cfg.TickEvery = dsn, 100*time.Millisecond
	svc, err := Open(context.Background(), st, w.Svc, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	pulled := make(chan *Result, 4)
	testHookPulled = func(feed string, res *Result) { pulled <- res }
	defer func() { testHookPulled = nil }()
	g, err := svc.Add(admin.Ctx(), Input{Name: "ISAC", ServerURL: i.srv.URL + "/taxii2/", Collection: i.col, Target: col.ID, Auth: bulwark.FeedAuthBasic,
		Username: i.reader.Email, Password: i.reader.Password, CACert: i.pem, Interval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case res := <-pulled:
		if res.Err != nil || res.New != 120 {
			t.Fatalf("scheduled pull on PostgreSQL: %+v", res)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the job queue on PostgreSQL did not pull")
	}
	if f, err := st.FindIntelFeed(sys, g.ID); err != nil || f.Imported != 120 {
		t.Errorf("feed after the job: %+v, %v", f, err)
	}
	if err := svc.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
}
