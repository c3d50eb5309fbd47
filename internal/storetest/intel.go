package storetest

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"bulwark"
)

const (
	testCollection  = "0b4d2d0e-6a4a-4c4e-9d3e-1f2a3b4c5d6e"
	testCollection2 = "1c5e3e1f-7b5b-4d5f-8e4f-2a3b4c5d6e7f"
)

func intelFixture(t *testing.T, st bulwark.Store) {
	t.Helper()
	mustImport(t, st, fixture())
	ctx := sysCtx()
	com := &bulwark.Community{ID: "water-isac", Name: "Water ISAC", CreatedBy: "ciso",
		Members: []bulwark.CommunityMember{{Org: "ciso", Owner: true}, {Org: "water"}, {Org: "power"}}}
	if err := st.CreateCommunity(ctx, com); err != nil {
		t.Fatal(err)
	}
	col := &bulwark.Collection{ID: testCollection, Community: "water-isac", Title: "Indicators",
		Access: []bulwark.CollectionAccess{{Org: "ciso", CanRead: true, CanWrite: true}, {Org: "water", CanRead: true, CanWrite: true}, {Org: "power", CanRead: true}}}
	if err := st.CreateCollection(ctx, col); err != nil {
		t.Fatal(err)
	}
}

func intelObj(id string, version time.Time, scope bulwark.IntelScope) bulwark.IntelObject {
	body := fmt.Sprintf(`{"type":"indicator","spec_version":"2.1","id":%q,"modified":%q}`, id, bulwark.FormatSTIXTime(version))
	return bulwark.IntelObject{STIXID: id, Type: "indicator", SpecVersion: "2.1", Version: version, IntelScope: scope, Source: "test", Body: []byte(body)}
}

func testIntelCommunities(t *testing.T, st bulwark.Store) {
	intelFixture(t, st)
	ctx := sysCtx()
	wantCode(t, "no principal", st.CreateCommunity(context.Background(), &bulwark.Community{ID: "x", Name: "x", Members: []bulwark.CommunityMember{{Org: "ciso", Owner: true}}}), bulwark.EUNAUTHORIZED)
	for _, tc := range []struct {
		name string
		c    bulwark.Community
		code string
	}{
		{"unknown org", bulwark.Community{ID: "c1", Name: "C", Members: []bulwark.CommunityMember{{Org: "ciso", Owner: true}, {Org: "nobody"}}}, bulwark.EINVALID},
		{"no owner", bulwark.Community{ID: "c2", Name: "C", Members: []bulwark.CommunityMember{{Org: "ciso"}}}, bulwark.EINVALID},
		{"twice", bulwark.Community{ID: "c3", Name: "C", Members: []bulwark.CommunityMember{{Org: "ciso", Owner: true}, {Org: "ciso"}}}, bulwark.EINVALID},
		{"bad id", bulwark.Community{ID: "a b", Name: "C", Members: []bulwark.CommunityMember{{Org: "ciso", Owner: true}}}, bulwark.EINVALID},
		{"duplicate id", bulwark.Community{ID: "water-isac", Name: "C", Members: []bulwark.CommunityMember{{Org: "ciso", Owner: true}}}, bulwark.ECONFLICT},
	} {
		wantCode(t, tc.name, st.CreateCommunity(ctx, &tc.c), tc.code)
	}
	// Access may only name members.
	bad := &bulwark.Collection{ID: testCollection2, Community: "water-isac", Title: "X", Access: []bulwark.CollectionAccess{{Org: "nobody", CanRead: true}}}
	wantCode(t, "access for a non-member", st.CreateCollection(ctx, bad), bulwark.EINVALID)
	bad = &bulwark.Collection{ID: testCollection2, Community: "no-such", Title: "X"}
	wantCode(t, "unknown community", st.CreateCollection(ctx, bad), bulwark.EINVALID)
	bad = &bulwark.Collection{ID: "not-a-uuid", Community: "water-isac", Title: "X"}
	wantCode(t, "bad collection id", st.CreateCollection(ctx, bad), bulwark.EINVALID)

	before := must(st.IntelState(ctx))(t)
	// Power leaves: its access to the community's collections goes with it.
	com := &bulwark.Community{ID: "water-isac", Name: "Water ISAC 2", Members: []bulwark.CommunityMember{{Org: "ciso", Owner: true}, {Org: "water"}}}
	if err := st.UpdateCommunity(ctx, com); err != nil {
		t.Fatal(err)
	}
	after := must(st.IntelState(ctx))(t)
	if after.AccessEpoch <= before.AccessEpoch {
		t.Errorf("access epoch did not move: %d -> %d", before.AccessEpoch, after.AccessEpoch)
	}
	cols := must(st.ListCollections(ctx))(t)
	if len(cols) != 1 || slices.ContainsFunc(cols[0].Access, func(a bulwark.CollectionAccess) bool { return a.Org == "power" }) {
		t.Errorf("collections after power left: %+v", cols)
	}
	coms := must(st.ListCommunities(ctx))(t)
	if len(coms) != 1 || coms[0].Name != "Water ISAC 2" || len(coms[0].Members) != 2 || !coms[0].IsOwner("ciso") {
		t.Errorf("communities: %+v", coms)
	}
	wantCode(t, "update unknown", st.UpdateCommunity(ctx, &bulwark.Community{ID: "nope", Name: "n", Members: []bulwark.CommunityMember{{Org: "ciso", Owner: true}}}), bulwark.ENOTFOUND)
	upd := cols[0]
	upd.Alias = "indicators"
	upd.Access = append(upd.Access, bulwark.CollectionAccess{Org: "power", CanRead: true})
	wantCode(t, "access for a former member", st.UpdateCollection(ctx, &upd), bulwark.EINVALID)
	upd.Access = upd.Access[:len(upd.Access)-1]
	if err := st.UpdateCollection(ctx, &upd); err != nil {
		t.Fatal(err)
	}
	dup := &bulwark.Collection{ID: testCollection2, Community: "water-isac", Title: "Y", Alias: "indicators"}
	wantCode(t, "alias twice", st.CreateCollection(ctx, dup), bulwark.ECONFLICT)
	audit := must(st.ListAudit(ctx, 0, 1000))(t)
	var actions []string
	for _, e := range audit {
		actions = append(actions, e.Action)
	}
	for _, a := range []string{"intel.community.create", "intel.collection.create", "intel.community.update", "intel.collection.update"} {
		if !slices.Contains(actions, a) {
			t.Errorf("audit log lacks %s: %v", a, actions)
		}
	}
}

func testIntelObjects(t *testing.T, st bulwark.Store) {
	intelFixture(t, st)
	ctx := userCtx("water", bulwark.RoleAnalyst)
	green := bulwark.IntelScope{Marking: bulwark.TLPGreen, PublisherOrg: "water", PublisherUser: 1}
	t0 := time.Now().UTC().Truncate(time.Millisecond).Add(-time.Hour)
	id1 := "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"
	id2 := "indicator--9f3f3e3c-28e5-4dc0-a49f-a9ff57c4de40"
	objs := []bulwark.IntelObject{intelObj(id1, t0, green), intelObj(id2, t0, green), intelObj(id1, t0.Add(time.Minute), green)}
	var calls []string
	check := func(o *bulwark.IntelObject, own *bulwark.IntelScope, others []bulwark.IntelScope) (bulwark.IntelScope, error) {
		calls = append(calls, fmt.Sprintf("%s own=%v others=%d", o.String(), own != nil, len(others)))
		return o.IntelScope, nil
	}
	res := must(st.PutIntelObjects(ctx, testCollection, objs, check))(t)
	if len(res) != 3 || res[0].Seq == 0 || res[1].Seq != res[0].Seq+1 || res[2].Seq != res[1].Seq+1 {
		t.Fatalf("results %+v", res)
	}
	// The second version of id1 sees the first, stored in the same call.
	want := []string{id1 + "@" + bulwark.FormatSTIXTime(t0) + " own=false others=0", id2 + "@" + bulwark.FormatSTIXTime(t0) + " own=false others=0",
		id1 + "@" + bulwark.FormatSTIXTime(t0.Add(time.Minute)) + " own=true others=0"}
	if !slices.Equal(calls, want) {
		t.Errorf("check calls\n got %q\nwant %q", calls, want)
	}
	// An identical version again is a duplicate; a different body under
	// the same version is refused; both leave the rest of the batch alone.
	changed := intelObj(id2, t0, green)
	changed.Body = append(bytes.Clone(changed.Body[:len(changed.Body)-1]), `,"name":"x"}`...)
	res = must(st.PutIntelObjects(ctx, testCollection, []bulwark.IntelObject{intelObj(id1, t0, green), changed, intelObj(id2, t0.Add(time.Hour), green)}, nil))(t)
	if !res[0].Duplicate || res[0].Seq != 0 || bulwark.ErrorCode(res[1].Err) != bulwark.ECONFLICT || res[2].Seq == 0 {
		t.Errorf("second put %+v", res)
	}
	// The same id from another publisher is another object: check sees it
	// among others, and its scope never touches the first publisher's.
	amber := bulwark.IntelScope{Marking: bulwark.TLPAmber, Orgs: []string{"ciso"}, PublisherOrg: "power", PublisherUser: 2}
	calls = nil
	res = must(st.PutIntelObjects(userCtx("power", bulwark.RoleAnalyst), testCollection, []bulwark.IntelObject{intelObj(id1, t0, amber)}, check))(t)
	if res[0].Seq == 0 || len(calls) != 1 || calls[0] != id1+"@"+bulwark.FormatSTIXTime(t0)+" own=false others=1" {
		t.Errorf("other publisher: %+v %q", res, calls)
	}
	before := must(st.IntelState(ctx))(t)
	// A stricter marking re-scopes the publisher's earlier versions.
	strict := bulwark.IntelScope{Marking: bulwark.TLPAmberStrict, Orgs: []string{"water"}, PublisherOrg: "water", PublisherUser: 1}
	res = must(st.PutIntelObjects(ctx, testCollection, []bulwark.IntelObject{intelObj(id1, t0.Add(2*time.Minute), strict)}, nil))(t)
	if res[0].Seq == 0 {
		t.Fatalf("re-scope %+v", res)
	}
	after := must(st.IntelState(ctx))(t)
	if after.Epoch != before.Epoch || after.LastSeq != res[0].Seq {
		t.Errorf("state %+v -> %+v", before, after)
	}
	all := must(st.ScanIntelObjects(sysCtx(), 0, 0))(t)
	if len(all) != 6 {
		t.Fatalf("scanned %d objects", len(all))
	}
	for i, o := range all {
		if i > 0 && (o.Seq <= all[i-1].Seq || o.DateAdded.Before(all[i-1].DateAdded)) {
			t.Errorf("order broken at %d: %+v after %+v", i, o, all[i-1])
		}
		if o.Body != nil || o.Collection != testCollection || o.Type != "indicator" || o.Source != "test" {
			t.Errorf("scanned %+v", o)
		}
		if o.STIXID == id1 && o.PublisherOrg == "water" && !o.IntelScope.Equal(strict) {
			t.Errorf("version %s not re-scoped: %+v", o.String(), o.IntelScope)
		}
		if o.STIXID == id1 && o.PublisherOrg == "power" && (o.Marking != bulwark.TLPAmber || !slices.Equal(o.Orgs, []string{"ciso"})) {
			t.Errorf("other publisher's object changed: %+v", o.IntelScope)
		}
	}
	page := must(st.ScanIntelObjects(sysCtx(), all[1].Seq, 2))(t)
	if len(page) != 2 || page[0].Seq != all[2].Seq {
		t.Errorf("scan page %+v", page)
	}
	bodies := must(st.IntelBodies(sysCtx(), []int64{all[1].Seq, 999999, all[0].Seq}))(t)
	if !bytes.Equal(bodies[0], objs[1].Body) || bodies[1] != nil || !bytes.Equal(bodies[2], objs[0].Body) {
		t.Errorf("bodies %q", bodies)
	}
	// Refused by check: nothing stored, the error comes back.
	res = must(st.PutIntelObjects(ctx, testCollection, []bulwark.IntelObject{intelObj("indicator--00000000-0000-4000-8000-000000000001", t0, green)},
		func(*bulwark.IntelObject, *bulwark.IntelScope, []bulwark.IntelScope) (bulwark.IntelScope, error) {
			return bulwark.IntelScope{}, bulwark.Errorf(bulwark.EFORBIDDEN, "no")
		}))(t)
	if res[0].Seq != 0 || bulwark.ErrorCode(res[0].Err) != bulwark.EFORBIDDEN {
		t.Errorf("refused %+v", res)
	}
	// A scope that does not fit its marking is refused even without check.
	res = must(st.PutIntelObjects(ctx, testCollection, []bulwark.IntelObject{intelObj("indicator--00000000-0000-4000-8000-000000000002", t0,
		bulwark.IntelScope{Marking: bulwark.TLPAmberStrict, PublisherOrg: "water"})}, nil))(t)
	if res[0].Seq != 0 || bulwark.ErrorCode(res[0].Err) != bulwark.EINVALID {
		t.Errorf("invalid scope %+v", res)
	}
	_, err := st.PutIntelObjects(ctx, testCollection2, []bulwark.IntelObject{intelObj(id1, t0, green)}, nil)
	wantCode(t, "unknown collection", err, bulwark.ENOTFOUND)

	// Deleting versions removes rows and bodies and moves the epoch.
	if err := st.DeleteIntelVersions(ctx, testCollection, []int64{all[0].Seq, all[2].Seq}); err != nil {
		t.Fatal(err)
	}
	left := must(st.ScanIntelObjects(sysCtx(), 0, 0))(t)
	if len(left) != 4 || must(st.IntelState(ctx))(t).Epoch != after.Epoch+1 {
		t.Errorf("after delete: %d objects", len(left))
	}
	if b := must(st.IntelBodies(sysCtx(), []int64{all[0].Seq}))(t); b[0] != nil {
		t.Errorf("body of a deleted version remains")
	}
	// The secret is created once.
	k1 := must(st.IntelSecret(sysCtx()))(t)
	k2 := must(st.IntelSecret(ctx))(t)
	if len(k1) != 32 || !bytes.Equal(k1, k2) {
		t.Errorf("secret %x / %x", k1, k2)
	}
	_, err = st.ScanIntelObjects(context.Background(), 0, 10)
	wantCode(t, "scan without principal", err, bulwark.EUNAUTHORIZED)
}

// Concurrent writers get distinct, gap-free sequence numbers, and
// date_added never decreases along them: a reader paging by (date_added,
// seq) sees every object exactly once even when objects arrive while it
// pages.
func testIntelConcurrentPuts(t *testing.T, st bulwark.Store) {
	intelFixture(t, st)
	const writers, each = 4, 25
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := userCtx("water", bulwark.RoleAnalyst)
			for i := range each {
				id := fmt.Sprintf("indicator--%08d-0000-4000-8000-%012d", w, i)
				o := intelObj(id, time.Now().UTC().Truncate(time.Millisecond), bulwark.IntelScope{Marking: bulwark.TLPGreen, PublisherOrg: "water"})
				if _, err := st.PutIntelObjects(ctx, testCollection, []bulwark.IntelObject{o}, nil); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	// A reader tails the store while the writers work.
	seen := map[int64]bool{}
	var last int64
	deadline := time.Now().Add(30 * time.Second)
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	for finished := false; !finished; {
		select {
		case <-done:
			finished = true
		default:
		}
		page, err := st.ScanIntelObjects(sysCtx(), last, 1000)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range page {
			if seen[o.Seq] {
				t.Fatalf("seq %d seen twice", o.Seq)
			}
			seen[o.Seq] = true
			last = o.Seq
		}
		if time.Now().After(deadline) {
			t.Fatal("writers did not finish")
		}
	}
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	page := must(st.ScanIntelObjects(sysCtx(), last, 1000))(t)
	for _, o := range page {
		seen[o.Seq] = true
	}
	all := must(st.ScanIntelObjects(sysCtx(), 0, 0))(t)
	if len(all) != writers*each || len(seen) != writers*each {
		t.Fatalf("stored %d, tail saw %d, want %d", len(all), len(seen), writers*each)
	}
	for i := range all {
		if all[i].Seq != all[0].Seq+int64(i) {
			t.Fatalf("gap in seq at %d: %d", i, all[i].Seq)
		}
		if i > 0 && all[i].DateAdded.Before(all[i-1].DateAdded) {
			t.Fatalf("date_added goes back at seq %d", all[i].Seq)
		}
	}
}

func testIntelStatus(t *testing.T, st bulwark.Store) {
	intelFixture(t, st)
	alice := bulwark.WithPrincipal(context.Background(), bulwark.Principal{UserID: 7, Org: "water", Role: bulwark.RoleAnalyst, Name: "alice"})
	bob := bulwark.WithPrincipal(context.Background(), bulwark.Principal{UserID: 8, Org: "water", Role: bulwark.RoleAnalyst, Name: "bob"})
	s := &bulwark.IntelStatus{ID: "2d086da7-4bdc-4f91-900e-d77486753710", Collection: testCollection, Status: "complete",
		Requested: time.Now().UTC().Truncate(time.Microsecond), Total: 1, Successes: []bulwark.IntelStatusDetail{{ID: "indicator--x", Version: "v"}}}
	if err := st.PutIntelStatus(alice, s); err != nil {
		t.Fatal(err)
	}
	got := must(st.FindIntelStatus(alice, s.ID))(t)
	if got.Total != 1 || len(got.Successes) != 1 || got.UserID != 7 || !got.Requested.Equal(s.Requested) {
		t.Errorf("status %+v", got)
	}
	_, err := st.FindIntelStatus(bob, s.ID)
	wantCode(t, "another user's status", err, bulwark.ENOTFOUND)
	_, err = st.FindIntelStatus(alice, "00000000-0000-4000-8000-000000000000")
	wantCode(t, "unknown status", err, bulwark.ENOTFOUND)
	wantCode(t, "bad status id", st.PutIntelStatus(alice, &bulwark.IntelStatus{ID: "x"}), bulwark.EINVALID)
}
