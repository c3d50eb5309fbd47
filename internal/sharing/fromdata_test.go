package sharing_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"bulwark"
	"bulwark/internal/auth"
	"bulwark/internal/baseline"
	"bulwark/internal/citymodel"
	"bulwark/internal/demo"
	"bulwark/internal/feed"
	"bulwark/internal/generate"
	"bulwark/internal/incident"
	"bulwark/internal/sharing"
	"bulwark/internal/sharing/datasrc"
	"bulwark/internal/sharing/sharingtest"
	"bulwark/internal/sqlstore"
	"bulwark/internal/stix"
	"bulwark/internal/vulns"
)

// dataWorld is the demo city with its findings, a collection that the
// owner of some findings writes, and an outsider organization that reads
// it too.
type dataWorld struct {
	w        *sharingtest.World
	fd       *sharing.FromData
	owner    *sharingtest.User // publishes
	peer     *sharingtest.User // named recipient
	outsider *sharingtest.User // reads the collection, not named
	col      string
	assetIDs []string
	assets   []bulwark.Asset
}

// demoDB is the demo city with its feeds imported and matched, built once
// per test binary: that takes tens of seconds (minutes under the race
// detector), and each test works on its own copy of the file.
var demoDB struct {
	once sync.Once
	dir  string
	path string
	err  error
}

// TestMain removes demoDB's file after the tests.
func TestMain(m *testing.M) {
	code := m.Run()
	if demoDB.dir != "" {
		os.RemoveAll(demoDB.dir)
	}
	os.Exit(code)
}

func buildDemoDB() error {
	ctx := sharingtest.SysCtx()
	dir, err := os.MkdirTemp("", "bulwark-sharing-demo-")
	if err != nil {
		return err
	}
	demoDB.dir = dir
	path := filepath.Join(dir, "demo.db")
	db, err := sqlstore.Open(ctx, path, nil)
	if err != nil {
		return err
	}
	fill := func() error {
		if _, err := citymodel.Import(ctx, db, []citymodel.Source{demo.CitySource()}, citymodel.ImportOptions{}); err != nil {
			return err
		}
		vs := vulns.New(db, nil)
		if _, err := vs.ImportFS(ctx, generate.DemoFeeds(), feed.Options{}); err != nil {
			return err
		}
		_, err := vs.Match(ctx, vulns.MatchOptions{})
		return err
	}
	err = fill()
	if cerr := db.Close(); err == nil { // Close checkpoints the WAL into the file
		err = cerr
	}
	if err != nil {
		return err
	}
	demoDB.path = path
	return nil
}

// demoCopy returns a copy of demoDB's file in t's temporary directory.
func demoCopy(t *testing.T) string {
	t.Helper()
	demoDB.once.Do(func() { demoDB.err = buildDemoDB() })
	if demoDB.err != nil {
		t.Fatalf("demo city: %v", demoDB.err)
	}
	dst := filepath.Join(t.TempDir(), "demo.db")
	for _, suffix := range []string{"", "-wal"} {
		b, err := os.ReadFile(demoDB.path + suffix)
		if os.IsNotExist(err) && suffix != "" {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst+suffix, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

func newDataWorld(t *testing.T) *dataWorld {
	t.Helper()
	ctx := sharingtest.SysCtx()
	db, err := sqlstore.Open(ctx, demoCopy(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	vs := vulns.New(db, nil)
	fs, err := db.ListFindings(ctx, bulwark.FindingFilter{Open: true, Limit: 1})
	if err != nil || len(fs.Items) == 0 {
		t.Fatalf("no findings in the demo city: %v", err)
	}
	ownerOrg := fs.Items[0].Owner
	orgs, err := db.ListOrganizations(ctx, bulwark.ListOptions{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var others []string
	for _, o := range orgs.Items {
		if o.ID != ownerOrg {
			others = append(others, o.ID)
		}
	}
	if len(others) < 2 {
		t.Fatalf("the demo city needs three organizations, has %d", len(orgs.Items))
	}
	w := &sharingtest.World{Store: db, Auth: auth.New(db, auth.Options{Argon: sharingtest.Cheap}, nil), Svc: sharing.New(db, nil)}
	d := &dataWorld{w: w, owner: w.AddUser(t, ownerOrg, bulwark.RoleAnalyst), peer: w.AddUser(t, others[0], bulwark.RoleAnalyst),
		outsider: w.AddUser(t, others[1], bulwark.RoleAnalyst)}
	admin := w.AddUser(t, ownerOrg, bulwark.RoleAdmin)
	com := &bulwark.Community{ID: "metro", Name: "Metro", Members: []bulwark.CommunityMember{{Org: ownerOrg}, {Org: others[0]}, {Org: others[1]}}}
	if err := w.Svc.CreateCommunity(admin.Ctx(), com); err != nil {
		t.Fatal(err)
	}
	col := &bulwark.Collection{Community: "metro", Title: "Advisories", Access: []bulwark.CollectionAccess{
		{Org: ownerOrg, CanRead: true, CanWrite: true}, {Org: others[0], CanRead: true}, {Org: others[1], CanRead: true}}}
	if err := w.Svc.CreateCollection(admin.Ctx(), col); err != nil {
		t.Fatal(err)
	}
	d.col = col.ID
	assets, err := db.ListAssets(ctx, bulwark.ListOptions{Limit: bulwark.MaxPageSize})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range assets.Items {
		if a.Owner == ownerOrg && len(a.ID) > 3 {
			d.assetIDs = append(d.assetIDs, a.ID)
		}
	}
	d.fd = datasrc.New(db, w.Svc, vs, incident.New(db, baseline.New(db, nil), nil), "test.example")
	d.assets = assets.Items
	return d
}

// bodies returns every object u sees in the collection, by id.
func (d *dataWorld) bodies(t *testing.T, u *sharingtest.User) map[string][]byte {
	t.Helper()
	page, err := d.w.Svc.Objects(u.Ctx(), d.col, sharing.Query{Limit: sharing.MaxPageSize}, "")
	if bulwark.ErrorCode(err) == bulwark.ENOTFOUND {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, it := range page.Items {
		out[it.STIXID] = it.Body
	}
	return out
}

// checkBodies validates every body and looks for the city's internal names.
func (d *dataWorld) checkBodies(t *testing.T, bodies map[string][]byte) {
	t.Helper()
	for id, b := range bodies {
		o, err := stix.ParseObject(b, stix.Limits{})
		if err != nil {
			t.Errorf("%s: %v", id, err)
			continue
		}
		if probs := stix.Validate(o); len(probs) > 0 {
			t.Errorf("%s invalid: %v", id, probs)
		}
		for _, a := range d.assetIDs {
			if strings.Contains(string(b), `"`+a+`"`) || strings.Contains(string(b), " "+a+" ") {
				t.Errorf("%s names asset %s: %s", id, a, b)
			}
		}
	}
}

func TestPublishAdvisories(t *testing.T) {
	d := newDataWorld(t)
	ctx := d.owner.Ctx()
	res, err := d.fd.PublishAdvisories(ctx, d.col, bulwark.TLPAmber, d.peer.Org)
	if err != nil {
		t.Fatal(err)
	}
	if res.Published == 0 || res.Unchanged != 0 || res.Published != len(res.Objects) {
		t.Fatalf("first run: %+v", res)
	}
	types := map[string]int{}
	for _, id := range res.Objects {
		types[stix.IDType(id)]++
	}
	if types["vulnerability"] == 0 || types["course-of-action"] != types["relationship"] || types["course-of-action"] == 0 {
		t.Errorf("objects by type: %v", types)
	}
	again, err := d.fd.PublishAdvisories(ctx, d.col, bulwark.TLPAmber, d.peer.Org)
	if err != nil {
		t.Fatal(err)
	}
	if again.Published != 0 || again.Unchanged != len(res.Objects) {
		t.Errorf("second run published %d new versions (%d unchanged of %d)", again.Published, again.Unchanged, len(res.Objects))
	}
	seen := d.bodies(t, d.peer)
	if len(seen) != len(res.Objects) {
		t.Errorf("named recipient sees %d objects, want %d", len(seen), len(res.Objects))
	}
	d.checkBodies(t, seen)
	for id, b := range seen {
		if !strings.Contains(string(b), stix.TLPAmberID) {
			t.Errorf("%s not marked TLP:AMBER", id)
		}
	}
	if got := d.bodies(t, d.outsider); len(got) != 0 {
		t.Errorf("outsider sees %d objects", len(got))
	}
}

func TestPublishFromDataMarkingRequired(t *testing.T) {
	d := newDataWorld(t)
	for _, tc := range []struct {
		name    string
		marking bulwark.TLP
		orgs    []string
	}{
		{"no marking", "", nil},
		{"unknown marking", "purple", nil},
		{"amber without recipients", bulwark.TLPAmber, nil},
		{"recipient outside the collection", bulwark.TLPAmber, []string{"nobody-org"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := d.fd.PublishAdvisories(d.owner.Ctx(), d.col, tc.marking, tc.orgs...)
			if bulwark.ErrorCode(err) != bulwark.EINVALID {
				t.Errorf("err %v, want EINVALID", err)
			}
			_, err = d.fd.PublishIncident(d.owner.Ctx(), "no-such", d.col, tc.marking, tc.orgs...)
			if err == nil {
				t.Errorf("incident published")
			}
		})
	}
	if got := d.bodies(t, d.owner); len(got) != 0 {
		t.Errorf("refused publications left %d objects", len(got))
	}
}

func TestPublishIncident(t *testing.T) {
	d := newDataWorld(t)
	ctx := d.owner.Ctx()
	inc, err := d.fd.Incidents.(*incident.Service).Create(ctx, &bulwark.Incident{Title: "Ransomware at the utility", Threat: "ransomware",
		Description: "internal: HMI password reused", Affected: []bulwark.Affected{{ID: d.assetIDs[0], Effect: bulwark.EffectDown}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.fd.PublishIncident(d.outsider.Ctx(), inc.ID, d.col, bulwark.TLPGreen); err == nil {
		t.Errorf("an organization outside the incident published it")
	}
	res, err := d.fd.PublishIncident(ctx, inc.ID, d.col, bulwark.TLPGreen)
	if err != nil {
		t.Fatal(err)
	}
	if res.Published != 2 || len(res.Objects) != 2 {
		t.Fatalf("published %+v, want an incident and a report", res)
	}
	again, err := d.fd.PublishIncident(ctx, inc.ID, d.col, bulwark.TLPGreen)
	if err != nil || again.Published != 0 || again.Unchanged != 2 {
		t.Errorf("second run: %+v %v", again, err)
	}
	// The same incident with a lower marking is a conflict, not "unchanged".
	if _, err := d.fd.PublishIncident(ctx, inc.ID, d.col, bulwark.TLPClear); bulwark.ErrorCode(err) != bulwark.ECONFLICT {
		t.Errorf("lowering the marking: %v, want ECONFLICT", err)
	}
	seen := d.bodies(t, d.outsider) // GREEN: every reader of the collection
	d.checkBodies(t, seen)
	var report string
	for id, b := range seen {
		if strings.Contains(string(b), "HMI password") || strings.Contains(string(b), inc.ID) {
			t.Errorf("%s leaks internal detail: %s", id, b)
		}
		if stix.IDType(id) == "report" {
			report = string(b)
		}
	}
	if !strings.Contains(report, inc.Phase.Title()) || !strings.Contains(report, inc.Severity.Level.String()) || !strings.Contains(report, res.Objects[0]) {
		t.Errorf("report lacks phase, severity or the incident: %s", report)
	}
	for _, a := range inc.Affected {
		if a.Kind == "service" && a.Name != "" && !strings.Contains(report, a.Name) {
			t.Errorf("report lacks affected service %s: %s", a.Name, report)
		}
	}
}

func TestPublishFindingsSummary(t *testing.T) {
	d := newDataWorld(t)
	ctx := d.owner.Ctx()
	month := time.Date(2026, 11, 5, 10, 0, 0, 0, time.UTC)
	d.fd.Now = func() time.Time { return month }
	res, err := d.fd.PublishFindingsSummary(ctx, d.col, bulwark.TLPAmber, d.peer.Org)
	if err != nil {
		t.Fatal(err)
	}
	if res.Published != 1 || len(res.Objects) != 1 || stix.IDType(res.Objects[0]) != "report" {
		t.Fatalf("published %+v, want one report", res)
	}
	id := res.Objects[0]
	seen := d.bodies(t, d.peer)
	d.checkBodies(t, seen)
	body := string(seen[id])
	fs, err := datasrc.OpenFindings(sharingtest.SysCtx(), d.w.Store, d.owner.Org)
	if err != nil || len(fs) == 0 {
		t.Fatalf("owner's open findings: %d, %v", len(fs), err)
	}
	kev := 0
	for _, f := range fs {
		if f.KEV {
			kev++
		}
	}
	var report struct {
		Summary sharing.FindingsSummary `json:"x_bulwark_findings_summary"`
	}
	if err := json.Unmarshal(seen[id], &report); err != nil {
		t.Fatal(err)
	}
	if s := report.Summary; s.Open != len(fs) || s.KEV != kev || s.Period != "2026-11" {
		t.Errorf("summary %+v, want %d open, %d KEV in 2026-11", s, len(fs), kev)
	}
	sum := 0
	for _, n := range report.Summary.BySeverity {
		sum += n
	}
	if sum != len(fs) {
		t.Errorf("severities add up to %d, want %d: %v", sum, len(fs), report.Summary.BySeverity)
	}
	if !strings.Contains(body, fmt.Sprintf("Open vulnerability findings in 2026-11: %d,", len(fs))) {
		t.Errorf("description lacks the count: %s", body)
	}
	// No inventory detail: no asset id, name, product, CPE; no CVE of a
	// finding (it would tell where the organization is exposed).
	for _, a := range d.assets {
		for _, s := range append([]string{a.ID, a.Name, a.Product}, a.CPEs...) {
			if len(s) > 3 && strings.Contains(body, s) {
				t.Errorf("summary names %q of asset %s: %s", s, a.ID, body)
			}
		}
	}
	for _, f := range fs {
		if strings.Contains(body, f.VulnID) {
			t.Errorf("summary names %s: %s", f.VulnID, body)
		}
	}
	if got := d.bodies(t, d.outsider); len(got) != 0 {
		t.Errorf("outsider sees %d objects", len(got))
	}

	// The same month and counts: unchanged. Other counts: a new version of
	// the same report. Another month: another report.
	again, err := d.fd.PublishFindingsSummary(ctx, d.col, bulwark.TLPAmber, d.peer.Org)
	if err != nil || again.Unchanged != 1 || again.Published != 0 {
		t.Errorf("second run: %+v %v", again, err)
	}
	if _, err := d.w.Store.UpdateFinding(sharingtest.SysCtx(), fs[0].AssetID, fs[0].VulnID, bulwark.FindingChange{Status: bulwark.FindingFixed, Note: "patched"}); err != nil {
		t.Fatal(err)
	}
	d.fd.Now = func() time.Time { return month.Add(time.Hour) }
	changed, err := d.fd.PublishFindingsSummary(ctx, d.col, bulwark.TLPAmber, d.peer.Org)
	if err != nil || changed.Published != 1 || changed.Objects[0] != id {
		t.Errorf("after a fix: %+v %v, want a new version of %s", changed, err, id)
	}
	page, err := d.w.Svc.Object(d.peer.Ctx(), d.col, id, sharing.Query{Versions: sharing.VersionFilter{All: true}}, "")
	if err != nil || len(page.Items) != 2 {
		t.Errorf("versions of the summary: %v", err)
	}
	d.fd.Now = func() time.Time { return month.AddDate(0, 1, 0) }
	next, err := d.fd.PublishFindingsSummary(ctx, d.col, bulwark.TLPAmber, d.peer.Org)
	if err != nil || next.Published != 1 || next.Objects[0] == id {
		t.Errorf("next month: %+v %v, want another report", next, err)
	}
}

func TestSummarizeFindings(t *testing.T) {
	vulns := map[string]*bulwark.Vulnerability{
		"CVE-1": {ID: "CVE-1", CVSS: []bulwark.CVSS{{BaseScore: 5}, {BaseScore: 9.8}}},
		"CVE-2": {ID: "CVE-2", CVSS: []bulwark.CVSS{{BaseScore: 7.5}}},
		"CVE-3": {ID: "CVE-3"},
	}
	fs := []bulwark.Finding{
		{AssetID: "a1", VulnID: "CVE-1", Decision: bulwark.SSVCAct, KEV: true},
		{AssetID: "a2", VulnID: "CVE-1", Decision: bulwark.SSVCAct, KEV: true},
		{AssetID: "a1", VulnID: "CVE-2", Decision: bulwark.SSVCTrack},
		{AssetID: "a3", VulnID: "CVE-3"},
		{AssetID: "a3", VulnID: "CVE-9", Decision: bulwark.SSVCAttend},
	}
	s := sharing.SummarizeFindings("2026-11", fs, func(id string) *bulwark.Vulnerability { return vulns[id] })
	want := sharing.FindingsSummary{Period: "2026-11", Open: 5, Vulnerabilities: 4, KEV: 2,
		ByDecision: map[string]int{"Act": 2, "Track": 1, "Attend": 1, "undecided": 1},
		BySeverity: map[string]int{"critical": 2, "high": 1, "unknown": 2}}
	if !reflect.DeepEqual(s, want) {
		t.Errorf("got %+v\nwant %+v", s, want)
	}
}

// TestRepublishOtherMarking: advisories published again under a stricter
// marking are new versions (not "unchanged"); under a lower one every
// object already published is refused, and the result says so.
func TestRepublishOtherMarking(t *testing.T) {
	d := newDataWorld(t)
	ctx := d.owner.Ctx()
	first, err := d.fd.PublishAdvisories(ctx, d.col, bulwark.TLPGreen)
	if err != nil {
		t.Fatal(err)
	}
	n := len(first.Objects)
	stricter, err := d.fd.PublishAdvisories(ctx, d.col, bulwark.TLPAmber, d.peer.Org)
	if err != nil {
		t.Fatal(err)
	}
	if stricter.Published != n || stricter.Unchanged != 0 || len(stricter.Refused) != 0 {
		t.Errorf("stricter marking: %d published, %d unchanged, %d refused of %d", stricter.Published, stricter.Unchanged, len(stricter.Refused), n)
	}
	for id, b := range d.bodies(t, d.peer) {
		if !strings.Contains(string(b), stix.TLPAmberID) || strings.Contains(string(b), stix.TLPGreenID) {
			t.Errorf("%s: latest version not TLP:AMBER only: %s", id, b)
		}
	}
	if got := d.bodies(t, d.outsider); len(got) != 0 {
		t.Errorf("outsider still sees %d objects after the marking tightened", len(got))
	}
	same, err := d.fd.PublishAdvisories(ctx, d.col, bulwark.TLPAmber, d.peer.Org)
	if err != nil || same.Unchanged != n {
		t.Errorf("same marking again: %+v %v", same, err)
	}
	lower, err := d.fd.PublishAdvisories(ctx, d.col, bulwark.TLPGreen)
	if bulwark.ErrorCode(err) != bulwark.ECONFLICT || !strings.Contains(bulwark.ErrorMessage(err), "refused") {
		t.Fatalf("lowering the marking: %v, want ECONFLICT", err)
	}
	if len(lower.Refused) != n || lower.Published != 0 || !strings.Contains(lower.Refused[0].Reason, "may not lower") {
		t.Errorf("lowering: %+v", lower)
	}
}
