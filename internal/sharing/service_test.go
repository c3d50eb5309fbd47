package sharing_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"bulwark"
	"bulwark/internal/sharing"
	"bulwark/internal/sharing/sharingtest"
	"bulwark/internal/stix"
)

// indicator returns a valid STIX 2.1 indicator.
func indicator(id string, modified time.Time, marking string) []byte {
	refs := ""
	if marking != "" {
		refs = fmt.Sprintf(`,"object_marking_refs":[%q]`, marking)
	}
	ts := stix.FormatTimestamp(modified)
	return []byte(fmt.Sprintf(`{"type":"indicator","spec_version":"2.1","id":%q,"created":%q,"modified":%q,"name":"C2 %s",`+
		`"pattern":"[ipv4-addr:value = '198.51.100.1']","pattern_type":"stix","valid_from":%q%s}`, id, ts, ts, id[len(id)-4:], ts, refs))
}

func newID() string { return "indicator--" + uuid.NewString() }

type fixture struct {
	w                                               *sharingtest.World
	city, water, waterViewer, power, port, hospital *sharingtest.User
	col                                             string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	return newFixtureOn(t, false)
}

// newFixtureOn builds the fixture on PostgreSQL with pg (skipping when no
// server answers).
func newFixtureOn(t *testing.T, pg bool) *fixture {
	t.Helper()
	w := sharingtest.Open(t, pg, sharingtest.Orgs("city", "water", "power", "port", "hospital", "isac"))
	f := &fixture{w: w, city: w.AddUser(t, "city", bulwark.RoleAdmin), water: w.AddUser(t, "water", bulwark.RoleAnalyst),
		waterViewer: w.AddUser(t, "water", bulwark.RoleViewer), power: w.AddUser(t, "power", bulwark.RoleAnalyst),
		port: w.AddUser(t, "port", bulwark.RoleAnalyst), hospital: w.AddUser(t, "hospital", bulwark.RoleAnalyst)}
	com := &bulwark.Community{ID: "metro", Name: "Metro utilities", Members: []bulwark.CommunityMember{{Org: "water"}, {Org: "power"}, {Org: "port"}}}
	if err := w.Svc.CreateCommunity(f.city.Ctx(), com); err != nil {
		t.Fatal(err)
	}
	col := &bulwark.Collection{Community: "metro", Title: "Indicators", Access: []bulwark.CollectionAccess{
		{Org: "city", CanRead: true, CanWrite: true}, {Org: "water", CanRead: true, CanWrite: true},
		{Org: "power", CanRead: true, CanWrite: true}, {Org: "port", CanRead: true}}}
	if err := w.Svc.CreateCollection(f.city.Ctx(), col); err != nil {
		t.Fatal(err)
	}
	f.col = col.ID
	return f
}

func (f *fixture) publish(t *testing.T, u *sharingtest.User, req sharing.PublishRequest) *bulwark.IntelObject {
	t.Helper()
	if req.Collection == "" {
		req.Collection = f.col
	}
	o, err := f.w.Svc.Publish(u.Ctx(), req)
	if err != nil {
		t.Fatalf("publish: %v", err)
	}
	return o
}

// seen returns the ids of the objects u sees in the collection.
func (f *fixture) seen(t *testing.T, u *sharingtest.User) []string {
	t.Helper()
	page, err := f.w.Svc.Objects(u.Ctx(), f.col, sharing.Query{Limit: 1000}, "")
	if bulwark.ErrorCode(err) == bulwark.ENOTFOUND {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, it := range page.Items {
		ids = append(ids, it.STIXID)
	}
	slices.Sort(ids)
	return ids
}

func TestTLPAudiences(t *testing.T) {
	f := newFixture(t)
	now := time.Now().UTC().Truncate(time.Millisecond)
	green, amber, strict, red := newID(), newID(), newID(), newID()
	f.publish(t, f.water, sharing.PublishRequest{Object: indicator(green, now, ""), Marking: bulwark.TLPGreen})
	f.publish(t, f.water, sharing.PublishRequest{Object: indicator(amber, now, ""), Marking: bulwark.TLPAmber, Orgs: []string{"power"}})
	f.publish(t, f.water, sharing.PublishRequest{Object: indicator(strict, now, "")}) // default: AMBER+STRICT, own organization
	f.publish(t, f.water, sharing.PublishRequest{Object: indicator(red, now, ""), Marking: bulwark.TLPRed, Users: []int64{f.power.ID}})
	sorted := func(ids ...string) []string { slices.Sort(ids); return ids }
	for _, tc := range []struct {
		who  *sharingtest.User
		want []string
	}{
		{f.water, sorted(green, amber, strict, red)},
		{f.waterViewer, sorted(green, amber, strict)}, // RED reaches the named individuals only
		{f.power, sorted(green, amber, red)},
		{f.port, sorted(green)},
		{f.city, sorted(green)}, // the city administrator has no god-mode read (AC-05)
		{f.hospital, nil},       // not a member
	} {
		if got := f.seen(t, tc.who); !slices.Equal(got, tc.want) {
			t.Errorf("%s sees %v, want %v", tc.who.Email, got, tc.want)
		}
	}
	// The published object carries its TLP 2.0 marking.
	page, err := f.w.Svc.Object(f.water.Ctx(), f.col, strict, sharing.Query{}, "")
	if err != nil || len(page.Items) != 1 || !strings.Contains(string(page.Items[0].Body), stix.TLPAmberStrictID) {
		t.Fatalf("strict object: %v %+v", err, page)
	}
	// Counts and existence follow the same rule.
	for _, tc := range []struct {
		who  *sharingtest.User
		want int
	}{{f.water, 4}, {f.power, 3}, {f.port, 1}} {
		n, err := f.w.Svc.Count(tc.who.Ctx(), f.col, sharing.Query{})
		if err != nil || n != tc.want {
			t.Errorf("%s count %d %v, want %d", tc.who.Email, n, err, tc.want)
		}
	}
	_, err = f.w.Svc.Object(f.port.Ctx(), f.col, red, sharing.Query{}, "")
	_, err2 := f.w.Svc.Object(f.port.Ctx(), f.col, newID(), sharing.Query{}, "")
	if bulwark.ErrorCode(err) != bulwark.ENOTFOUND || bulwark.ErrorMessage(err) == "" || strings.ReplaceAll(bulwark.ErrorMessage(err), red, "X") != strings.ReplaceAll(bulwark.ErrorMessage(err2), idOf(err2), "X") {
		t.Errorf("hidden object not answered like a missing one: %v / %v", err, err2)
	}
	_, err = f.w.Svc.Objects(f.hospital.Ctx(), f.col, sharing.Query{}, "")
	wantCode(t, "non-member reads the collection", err, bulwark.ENOTFOUND)
}

func idOf(err error) string {
	m := bulwark.ErrorMessage(err)
	i := strings.Index(m, "indicator--")
	if i < 0 {
		return ""
	}
	return m[i : i+len("indicator--")+36]
}

func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if got := bulwark.ErrorCode(err); got != code {
		t.Errorf("%s: %q (%v), want %q", what, got, err, code)
	}
}

func TestManagementRights(t *testing.T) {
	f := newFixture(t)
	ctx := f.water.Ctx()
	// Only administrators of city or ISAC organizations create communities.
	wantCode(t, "analyst creates a community", f.w.Svc.CreateCommunity(ctx, &bulwark.Community{ID: "c2", Name: "x", Members: []bulwark.CommunityMember{{Org: "water", Owner: true}}}), bulwark.EFORBIDDEN)
	waterAdmin := f.w.AddUser(t, "water", bulwark.RoleAdmin)
	wantCode(t, "private admin creates a community", f.w.Svc.CreateCommunity(waterAdmin.Ctx(), &bulwark.Community{ID: "c2", Name: "x", Members: []bulwark.CommunityMember{{Org: "water", Owner: true}}}), bulwark.EFORBIDDEN)
	// Members manage nothing; non-members do not learn the community exists.
	com, err := f.w.Svc.FindCommunity(ctx, "metro")
	if err != nil {
		t.Fatal(err)
	}
	com.Members = append(com.Members, bulwark.CommunityMember{Org: "hospital"})
	wantCode(t, "member admin manages", f.w.Svc.UpdateCommunity(waterAdmin.Ctx(), com), bulwark.EFORBIDDEN)
	_, err = f.w.Svc.FindCommunity(f.hospital.Ctx(), "metro")
	wantCode(t, "non-member finds the community", err, bulwark.ENOTFOUND)
	if cs, err := f.w.Svc.ListCommunities(f.hospital.Ctx()); err != nil || len(cs) != 0 {
		t.Errorf("non-member lists %v %v", cs, err)
	}
	wantCode(t, "non-member updates", f.w.Svc.UpdateCommunity(f.hospital.Ctx(), com), bulwark.ENOTFOUND)
	// Collections: listed for readers and writers only, with their rights.
	cols, err := f.w.Svc.ListCollections(f.port.Ctx())
	if err != nil || len(cols) != 1 || !cols[0].CanRead || cols[0].CanWrite || cols[0].Access != nil {
		t.Errorf("port's collections %+v %v", cols, err)
	}
	cols, _ = f.w.Svc.ListCollections(f.waterViewer.Ctx())
	if len(cols) != 1 || cols[0].CanWrite {
		t.Errorf("a viewer may not write: %+v", cols)
	}
	if cols, _ := f.w.Svc.ListCollections(f.hospital.Ctx()); len(cols) != 0 {
		t.Errorf("hospital sees collections %+v", cols)
	}
	// Writing needs the collection's write access and a writer role.
	_, err = f.w.Svc.Publish(f.port.Ctx(), sharing.PublishRequest{Collection: f.col, Object: indicator(newID(), time.Now(), "")})
	wantCode(t, "read-only organization publishes", err, bulwark.EFORBIDDEN)
	_, err = f.w.Svc.Publish(f.waterViewer.Ctx(), sharing.PublishRequest{Collection: f.col, Object: indicator(newID(), time.Now(), "")})
	wantCode(t, "viewer publishes", err, bulwark.EFORBIDDEN)
	_, err = f.w.Svc.Publish(f.hospital.Ctx(), sharing.PublishRequest{Collection: f.col, Object: indicator(newID(), time.Now(), "")})
	wantCode(t, "non-member publishes", err, bulwark.ENOTFOUND)
	// The owner removes power: power loses everything at once (CC-02).
	f.publish(t, f.water, sharing.PublishRequest{Object: indicator(newID(), time.Now(), ""), Marking: bulwark.TLPGreen})
	if len(f.seen(t, f.power)) != 1 {
		t.Fatal("power does not see the green object")
	}
	com, _ = f.w.Svc.FindCommunity(f.city.Ctx(), "metro")
	com.Members = slices.DeleteFunc(com.Members, func(m bulwark.CommunityMember) bool { return m.Org == "power" })
	if err := f.w.Svc.UpdateCommunity(f.city.Ctx(), com); err != nil {
		t.Fatal(err)
	}
	if got := f.seen(t, f.power); got != nil {
		t.Errorf("power still sees %v after leaving", got)
	}
}

func TestPublishChecks(t *testing.T) {
	f := newFixture(t)
	now := time.Now().UTC().Truncate(time.Millisecond)
	for _, tc := range []struct {
		name string
		req  sharing.PublishRequest
		code string
	}{
		{"amber without recipients", sharing.PublishRequest{Object: indicator(newID(), now, ""), Marking: bulwark.TLPAmber}, bulwark.EINVALID},
		{"amber to a non-reader", sharing.PublishRequest{Object: indicator(newID(), now, ""), Marking: bulwark.TLPAmber, Orgs: []string{"hospital"}}, bulwark.EINVALID},
		{"strict to two", sharing.PublishRequest{Object: indicator(newID(), now, ""), Marking: bulwark.TLPAmberStrict, Orgs: []string{"power", "port"}}, bulwark.EINVALID},
		{"red to a non-reader", sharing.PublishRequest{Object: indicator(newID(), now, ""), Marking: bulwark.TLPRed, Users: []int64{f.hospital.ID}}, bulwark.EINVALID},
		{"red to nobody known", sharing.PublishRequest{Object: indicator(newID(), now, ""), Marking: bulwark.TLPRed, Users: []int64{999999}}, bulwark.EINVALID},
		{"green with recipients", sharing.PublishRequest{Object: indicator(newID(), now, ""), Marking: bulwark.TLPGreen, Orgs: []string{"power"}}, bulwark.EINVALID},
		{"unknown marking", sharing.PublishRequest{Object: indicator(newID(), now, ""), Marking: "white-ish"}, bulwark.EINVALID},
		{"object marked otherwise", sharing.PublishRequest{Object: indicator(newID(), now, stix.TLPRedID), Marking: bulwark.TLPGreen}, bulwark.EINVALID},
		{"not STIX", sharing.PublishRequest{Object: []byte(`{"type":"indicator"}`), Marking: bulwark.TLPGreen}, bulwark.EINVALID},
		{"duplicate keys", sharing.PublishRequest{Object: []byte(`{"type":"indicator","type":"malware"}`), Marking: bulwark.TLPGreen}, bulwark.EINVALID},
	} {
		tc.req.Collection = f.col
		_, err := f.w.Svc.Publish(f.water.Ctx(), tc.req)
		wantCode(t, tc.name, err, tc.code)
	}
}

// AC-02: a version never lowers the marking nor reaches anyone earlier
// versions did not; a stricter one re-scopes the earlier versions too.
func TestAC02_MarkingMonotonicity(t *testing.T) {
	f := newFixture(t)
	t0 := time.Now().UTC().Truncate(time.Millisecond).Add(-time.Hour)
	id := newID()
	f.publish(t, f.water, sharing.PublishRequest{Object: indicator(id, t0, ""), Marking: bulwark.TLPAmber, Orgs: []string{"power", "port"}})
	for _, tc := range []struct {
		name string
		req  sharing.PublishRequest
	}{
		{"lower to green", sharing.PublishRequest{Object: indicator(id, t0.Add(time.Minute), ""), Marking: bulwark.TLPGreen}},
		{"widen amber", sharing.PublishRequest{Object: indicator(id, t0.Add(time.Minute), ""), Marking: bulwark.TLPAmber, Orgs: []string{"power", "port", "city"}}},
		{"strict to an outsider", sharing.PublishRequest{Object: indicator(id, t0.Add(time.Minute), ""), Marking: bulwark.TLPAmberStrict, Orgs: []string{"city"}}},
	} {
		tc.req.Collection = f.col
		_, err := f.w.Svc.Publish(f.water.Ctx(), tc.req)
		wantCode(t, tc.name, err, bulwark.ECONFLICT)
		// Only the lowering is ErrMarkingLowered; its message is unchanged.
		if lowered := tc.name == "lower to green"; errors.Is(err, sharing.ErrMarkingLowered) != lowered {
			t.Errorf("%s: errors.Is(ErrMarkingLowered) = %v, want %v", tc.name, !lowered, lowered)
		}
		if tc.name == "lower to green" && bulwark.ErrorMessage(err) != id+" is marked TLP:AMBER: a version may not lower it to TLP:GREEN" {
			t.Errorf("lower to green: message %q", bulwark.ErrorMessage(err))
		}
	}
	// The refusal reaches an importer's Refused with its kind, as a
	// failure in the status with its message.
	low, err := stix.ParseObject(indicator(id, t0.Add(time.Minute), stix.Green.ID()), stix.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	var refused []error
	st, err := f.w.Svc.AddObjects(f.water.Ctx(), f.col, []*stix.Object{low}, sharing.AddOptions{Refused: func(_ *stix.Object, err error) { refused = append(refused, err) }})
	if err != nil || len(st.Failures) != 1 || len(refused) != 1 || !errors.Is(refused[0], sharing.ErrMarkingLowered) || !strings.Contains(st.Failures[0].Message, "may not lower") {
		t.Fatalf("lowering by TAXII: %v %+v %v", err, st, refused)
	}
	// A TAXII post of a newer version without markings keeps the object's
	// AMBER scope rather than falling to anything else.
	o, err := stix.ParseObject(indicator(id, t0.Add(2*time.Minute), ""), stix.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	st, err = f.w.Svc.AddObjects(f.water.Ctx(), f.col, []*stix.Object{o}, sharing.AddOptions{})
	if err != nil || len(st.Successes) != 1 {
		t.Fatalf("unmarked newer version: %v %+v", err, st)
	}
	if got := f.seen(t, f.port); !slices.Equal(got, []string{id}) {
		t.Errorf("port sees %v", got)
	}
	// Narrowing to power alone re-scopes every version: port sees none.
	f.publish(t, f.water, sharing.PublishRequest{Object: indicator(id, t0.Add(3*time.Minute), ""), Marking: bulwark.TLPAmberStrict, Orgs: []string{"power"}})
	if got := f.seen(t, f.port); got != nil {
		t.Errorf("port still sees %v", got)
	}
	page, err := f.w.Svc.Objects(f.port.Ctx(), f.col, sharing.Query{Versions: sharing.VersionFilter{All: true}}, "")
	if err != nil || len(page.Items) != 0 {
		t.Errorf("port sees old versions: %v %d", err, len(page.Items))
	}
	page, err = f.w.Svc.Objects(f.power.Ctx(), f.col, sharing.Query{Versions: sharing.VersionFilter{All: true}}, "")
	if err != nil || len(page.Items) != 3 {
		t.Errorf("power sees %d versions (%v), want 3", len(page.Items), err)
	}
	// Another organization may not version water's object; it learns
	// nothing it could not see already.
	o2, _ := stix.ParseObject(indicator(id, t0.Add(4*time.Minute), stix.TLPGreenID), stix.Limits{})
	st, err = f.w.Svc.AddObjects(f.power.Ctx(), f.col, []*stix.Object{o2}, sharing.AddOptions{})
	if err != nil || len(st.Failures) != 1 || !strings.Contains(st.Failures[0].Message, "another organization") {
		t.Errorf("power versions water's object: %v %+v", err, st)
	}
}

func TestPagingStableUnderInserts(t *testing.T) {
	f := newFixture(t)
	// 3,000 objects in one post share one date_added; paging by 97 while
	// more arrive sees each exactly once, in order.
	var objs []*stix.Object
	now := time.Now().UTC().Truncate(time.Millisecond)
	for range 3000 {
		o, err := stix.ParseObject(indicator(newID(), now, stix.TLPGreenID), stix.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		objs = append(objs, o)
	}
	if _, err := f.w.Svc.AddObjects(f.water.Ctx(), f.col, objs, sharing.AddOptions{}); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	var last time.Time
	next := ""
	added := 0
	for pages := 0; ; pages++ {
		page, err := f.w.Svc.Objects(f.port.Ctx(), f.col, sharing.Query{Limit: 97}, next)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range page.Items {
			if seen[it.STIXID] {
				t.Fatalf("%s seen twice", it.STIXID)
			}
			if it.DateAdded.Before(last) {
				t.Fatalf("out of order")
			}
			seen[it.STIXID], last = true, it.DateAdded
		}
		if pages%5 == 3 {
			o, _ := stix.ParseObject(indicator(newID(), now, stix.TLPGreenID), stix.Limits{})
			if _, err := f.w.Svc.AddObjects(f.water.Ctx(), f.col, []*stix.Object{o}, sharing.AddOptions{}); err != nil {
				t.Fatal(err)
			}
			added++
		}
		if !page.More {
			break
		}
		next = page.Next
	}
	if len(seen) != 3000+added || added < 5 {
		t.Errorf("saw %d objects, want %d", len(seen), 3000+added)
	}
	// TX-02: a cursor is bound to its query; tampering is refused.
	page, _ := f.w.Svc.Objects(f.port.Ctx(), f.col, sharing.Query{Limit: 5}, "")
	_, err := f.w.Svc.Objects(f.port.Ctx(), f.col, sharing.Query{Limit: 5, Types: []string{"indicator"}}, page.Next)
	wantCode(t, "cursor with other filters", err, bulwark.EINVALID)
	b := []byte(page.Next)
	b[3] ^= 1
	_, err = f.w.Svc.Objects(f.port.Ctx(), f.col, sharing.Query{Limit: 5}, string(b))
	wantCode(t, "tampered cursor", err, bulwark.EINVALID)
	// Replayed by someone who sees less, it yields only what they see.
	p2, err := f.w.Svc.Objects(f.water.Ctx(), f.col, sharing.Query{Limit: 5}, page.Next)
	if err != nil || len(p2.Items) != 5 {
		t.Errorf("replayed cursor: %v", err)
	}
	_, err = f.w.Svc.Objects(f.hospital.Ctx(), f.col, sharing.Query{Limit: 5}, page.Next)
	wantCode(t, "replayed by a non-member", err, bulwark.ENOTFOUND)
}

func TestDeleteRights(t *testing.T) {
	f := newFixture(t)
	now := time.Now().UTC().Truncate(time.Millisecond)
	green, strict := newID(), newID()
	f.publish(t, f.water, sharing.PublishRequest{Object: indicator(green, now, ""), Marking: bulwark.TLPGreen})
	f.publish(t, f.water, sharing.PublishRequest{Object: indicator(strict, now, "")})
	wantCode(t, "power deletes water's object", f.w.Svc.Delete(f.power.Ctx(), f.col, green, sharing.Query{}), bulwark.EFORBIDDEN)
	wantCode(t, "port (read only) deletes", f.w.Svc.Delete(f.port.Ctx(), f.col, green, sharing.Query{}), bulwark.EFORBIDDEN)
	wantCode(t, "power deletes a hidden object", f.w.Svc.Delete(f.power.Ctx(), f.col, strict, sharing.Query{}), bulwark.ENOTFOUND)
	wantCode(t, "viewer deletes", f.w.Svc.Delete(f.waterViewer.Ctx(), f.col, green, sharing.Query{}), bulwark.EFORBIDDEN)
	// A version filter that selects nothing is "not found" (as TAXII
	// answers it), for the publisher too, and deletes nothing.
	none, err := sharing.ParseVersions("2001-01-01T00:00:00.000Z")
	if err != nil {
		t.Fatal(err)
	}
	wantCode(t, "water deletes a version that does not exist", f.w.Svc.Delete(f.water.Ctx(), f.col, green, sharing.Query{Versions: none}), bulwark.ENOTFOUND)
	if _, err := f.w.Svc.Object(f.power.Ctx(), f.col, green, sharing.Query{}, ""); err != nil {
		t.Fatalf("after a delete that matched nothing: %v", err)
	}
	if err := f.w.Svc.Delete(f.water.Ctx(), f.col, green, sharing.Query{}); err != nil {
		t.Fatal(err)
	}
	_, err = f.w.Svc.Object(f.power.Ctx(), f.col, green, sharing.Query{}, "")
	wantCode(t, "deleted object", err, bulwark.ENOTFOUND)
	if got := f.seen(t, f.water); !slices.Equal(got, []string{strict}) {
		t.Errorf("after delete water sees %v", got)
	}
	// Another process's view catches up (the removal moved the epoch).
	other := sharing.New(f.w.Store, nil)
	page, err := other.Objects(f.water.Ctx(), f.col, sharing.Query{}, "")
	if err != nil || len(page.Items) != 1 {
		t.Errorf("fresh service: %v %d", err, len(page.Items))
	}
	if err := f.w.Svc.Delete(f.water.Ctx(), f.col, strict, sharing.Query{}); err != nil {
		t.Fatal(err)
	}
	page, err = other.Objects(f.water.Ctx(), f.col, sharing.Query{}, "")
	if err != nil || len(page.Items) != 0 {
		t.Errorf("other process after delete: %v %d", err, len(page.Items))
	}
}

// The body log changes nothing but where bodies come from: the same
// answers with and without it, before and after it is filled, and with a
// damaged file.
func TestBodyLogAnswersAlike(t *testing.T) {
	f := newFixture(t)
	now := time.Now().UTC().Truncate(time.Millisecond)
	var objs []*stix.Object
	for range 300 {
		o, _ := stix.ParseObject(indicator(newID(), now, stix.TLPGreenID), stix.Limits{})
		objs = append(objs, o)
	}
	if _, err := f.w.Svc.AddObjects(f.water.Ctx(), f.col, objs, sharing.AddOptions{}); err != nil {
		t.Fatal(err)
	}
	f.publish(t, f.water, sharing.PublishRequest{Object: indicator(newID(), now, "")})
	want, err := f.w.Svc.Objects(f.power.Ctx(), f.col, sharing.Query{Limit: 1000}, "")
	if err != nil || len(want.Items) != 300 {
		t.Fatalf("%v %d", err, len(want.Items))
	}
	path := filepath.Join(t.TempDir(), "bodies")
	svc := sharing.New(f.w.Store, nil)
	svc.SetBodyLog(path)
	if err := svc.Load(f.power.Ctx()); err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	same := func(what string) {
		t.Helper()
		got, err := svc.Objects(f.power.Ctx(), f.col, sharing.Query{Limit: 1000}, "")
		if err != nil || len(got.Items) != len(want.Items) {
			t.Fatalf("%s: %v %d", what, err, len(got.Items))
		}
		for i := range got.Items {
			if !bytes.Equal(got.Items[i].Body, want.Items[i].Body) {
				t.Fatalf("%s: body %d differs", what, i)
			}
		}
	}
	same("while filling")
	deadline := time.Now().Add(10 * time.Second)
	for {
		if st, _ := os.Stat(path); st != nil && st.Size() > 300*300 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("body log not filled")
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond)
	same("filled")
	if n := svc.BodyLogHits(); n < 300 {
		t.Errorf("the filled log served %d bodies of 300", n)
	}
	// Released pages give their buffers to later pages; a page not yet
	// released keeps its bodies whatever is read and released meanwhile.
	held, err := svc.Objects(f.power.Ctx(), f.col, sharing.Query{Limit: 100}, "")
	if err != nil || len(held.Items) != 100 {
		t.Fatalf("held page: %v", err)
	}
	for round := range 20 {
		next := ""
		for {
			pg, err := svc.Objects(f.power.Ctx(), f.col, sharing.Query{Limit: 7 + round}, next)
			if err != nil {
				t.Fatal(err)
			}
			for i, it := range pg.Items {
				if k := slices.IndexFunc(want.Items, func(w sharing.Item) bool { return w.STIXID == it.STIXID }); k < 0 || !bytes.Equal(it.Body, want.Items[k].Body) {
					t.Fatalf("round %d: body %d (%s) differs after pages were released", round, i, it.STIXID)
				}
			}
			pg.Release()
			if !pg.More {
				break
			}
			next = pg.Next
		}
	}
	for i := range held.Items {
		if !bytes.Equal(held.Items[i].Body, want.Items[i].Body) {
			t.Fatalf("held page: body %d changed while other pages were released", i)
		}
	}
	held.Release()
	if held.Items[0].Body != nil {
		t.Error("Release left the bodies in place")
	}
	// Damage every body in the file: answers come from the database.
	b, _ := os.ReadFile(path)
	fh, _ := os.OpenFile(path, os.O_RDWR, 0)
	fh.WriteAt(bytes.ReplaceAll(b, []byte("C2 "), []byte("XX ")), 0)
	fh.Close()
	same("damaged")
}

// LG-02: reads of TLP:RED and TLP:AMBER+STRICT content are audited, with
// counts and never content.
func TestLG02_RestrictedReadsAudited(t *testing.T) {
	f := newFixture(t)
	now := time.Now().UTC().Truncate(time.Millisecond)
	red := newID()
	f.publish(t, f.water, sharing.PublishRequest{Object: indicator(red, now, ""), Marking: bulwark.TLPRed, Users: []int64{f.power.ID}})
	f.publish(t, f.water, sharing.PublishRequest{Object: indicator(newID(), now, ""), Marking: bulwark.TLPGreen})
	if _, err := f.w.Svc.Objects(f.power.Ctx(), f.col, sharing.Query{}, ""); err != nil {
		t.Fatal(err)
	}
	entries, err := f.w.Store.ListAudit(sharingtest.SysCtx(), 0, 10000)
	if err != nil {
		t.Fatal(err)
	}
	var found []bulwark.AuditEntry
	for _, e := range entries {
		if e.Action == "intel.read.restricted" {
			found = append(found, e)
		}
		if strings.Contains(e.Detail, "198.51.100") || strings.Contains(e.Detail, "C2") {
			t.Errorf("audit entry holds content: %+v", e)
		}
	}
	if len(found) != 1 || found[0].Org != "power" || !strings.Contains(found[0].Detail, "1 TLP:RED") {
		t.Errorf("restricted reads audited: %+v", found)
	}
}
