package sharing_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"bulwark"
	"bulwark/internal/sharing"
	"bulwark/internal/sharing/sharingtest"
	"bulwark/internal/stix"
)

// AC-02 (stateful): 10,000 random writes — new versions posted with any
// marking or none, in batches as TAXII and imports send them, and
// deliberate publications with explicit audiences — never widen who may see
// an object (over every user of the world), and no version is ever stored
// under a marking lower than the one its body carries.
func TestAC02_MarkingMonotonicityRandom(t *testing.T) {
	f := newFixture(t)
	rng := rand.New(rand.NewPCG(7, 11))
	users := []*sharingtest.User{f.city, f.water, f.waterViewer, f.power, f.port, f.hospital}
	writers := []*sharingtest.User{f.water, f.power}
	ids := make([]string, 40)
	for i := range ids {
		ids[i] = fmt.Sprintf("indicator--%08d-0000-4000-8000-000000000000", i)
	}
	marks := []string{"", stix.TLPClearID, stix.TLPGreenID, stix.TLPAmberID, stix.TLPAmberStrictID, stix.TLPRedID, stix.TLP1WhiteID, stix.TLP1RedID}
	levels := map[string]int{"": 0, stix.TLPClearID: 1, stix.TLP1WhiteID: 1, stix.TLPGreenID: 2, stix.TLPAmberID: 3, stix.TLPAmberStrictID: 4, stix.TLPRedID: 5, stix.TLP1RedID: 5}
	t0 := time.Now().UTC().Truncate(time.Millisecond).Add(-48 * time.Hour)
	version := 0
	// audience returns, per object (id and publisher), who sees it now.
	audience := func() map[string][]int64 {
		out := map[string][]int64{}
		for _, u := range users {
			page, err := f.w.Svc.Objects(u.Ctx(), f.col, sharing.Query{Limit: 1000}, "")
			if err != nil {
				continue
			}
			for _, it := range page.Items {
				k := it.STIXID + "/" + it.Publisher
				out[k] = append(out[k], u.ID)
			}
		}
		return out
	}
	// stored returns every object (id and publisher) in the store.
	stored := func() map[string]bool {
		rows, err := f.w.Store.ScanIntelObjects(sharingtest.SysCtx(), 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]bool{}
		for _, r := range rows {
			out[r.STIXID+"/"+r.PublisherOrg] = true
		}
		return out
	}
	ops, refused := 0, 0
	prev, storedBefore := audience(), stored()
	for ops < 10_000 {
		u := writers[rng.IntN(len(writers))]
		if rng.Float64() < 0.05 {
			// A deliberate publication with an explicit audience.
			m := bulwark.TLPs[rng.IntN(len(bulwark.TLPs))]
			req := sharing.PublishRequest{Collection: f.col, Marking: m}
			switch m {
			case bulwark.TLPAmber:
				req.Orgs = []string{[]string{"power", "port", "city", "water"}[rng.IntN(4)]}
			case bulwark.TLPAmberStrict:
				req.Orgs = []string{[]string{"power", "port", "city", "water"}[rng.IntN(4)]}
			case bulwark.TLPRed:
				req.Users = []int64{users[rng.IntN(len(users)-1)].ID}
			}
			version++
			req.Object = indicator(ids[rng.IntN(len(ids))], t0.Add(time.Duration(version)*time.Second), "")
			if _, err := f.w.Svc.Publish(u.Ctx(), req); err != nil {
				refused++
			}
			ops++
		} else {
			var objs []*stix.Object
			for range 200 {
				version++
				o, err := stix.ParseObject(indicator(ids[rng.IntN(len(ids))], t0.Add(time.Duration(version)*time.Second), marks[rng.IntN(len(marks))]), stix.Limits{})
				if err != nil {
					t.Fatal(err)
				}
				objs = append(objs, o)
			}
			st, err := f.w.Svc.AddObjects(u.Ctx(), f.col, objs, sharing.AddOptions{})
			if err != nil {
				t.Fatal(err)
			}
			refused += len(st.Failures)
			ops += len(objs)
		}
		now := audience()
		for k, who := range now {
			before, existed := prev[k]
			if !existed {
				continue // a new object (or one nobody could see: it reaches no one new below)
			}
			for _, id := range who {
				if !slices.Contains(before, id) {
					t.Fatalf("after %d writes, %s reaches user %d, who could not see it before (%v -> %v)", ops, k, id, before, who)
				}
			}
		}
		// Objects stored before that nobody could see stay unseen.
		for k := range now {
			if _, seenBefore := prev[k]; !seenBefore && storedBefore[k] {
				t.Fatalf("after %d writes, %s became visible", ops, k)
			}
		}
		prev, storedBefore = now, stored()
	}
	// Every stored version's scope is at least as strict as its own marking.
	rows, err := f.w.Store.ScanIntelObjects(sharingtest.SysCtx(), 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	bodies := make([]int64, len(rows))
	for i := range rows {
		bodies[i] = rows[i].Seq
	}
	bs, err := f.w.Store.IntelBodies(sharingtest.SysCtx(), bodies)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range rows {
		o, err := stix.ParseObject(bs[i], stix.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		own := 0
		for _, ref := range o.ObjectMarkingRefs() {
			own = max(own, levels[ref])
		}
		if r.Marking.Rank() < own {
			t.Fatalf("%s stored as %s but marked %d", o.ID(), r.Marking, own)
		}
	}
	t.Logf("%d writes, %d refused, %d versions stored", ops, refused, len(rows))
	if refused == 0 || len(rows) < 1000 {
		t.Errorf("the sequence exercised too little: %d refused, %d stored", refused, len(rows))
	}
}
