package intelfeed

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/uuid"

	"bulwark"
	"bulwark/internal/sharing"
	"bulwark/internal/stix"
)

// AC-02: a pull never lowers a marking the city holds. A partner may send
// a newer version without markings, with its granular markings removed,
// with a lower TLP, or referencing definitions it never sends; the city
// keeps (at least) the marking it had, and keeps the partner's content.

const tlp1Green = "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"

type marking struct {
	name     string
	refs     []string
	granular []string
}

var (
	mUnmarked    = marking{name: "unmarked"}
	mClear       = marking{"clear", []string{stix.Clear.ID()}, nil}
	mGreen       = marking{"green", []string{stix.Green.ID()}, nil}
	mAmber       = marking{"amber", []string{stix.Amber.ID()}, nil}
	mAmberStrict = marking{"amber+strict", []string{stix.AmberStrict.ID()}, nil}
	mRed         = marking{"red", []string{stix.Red.ID()}, nil}
	mGranRed     = marking{"green with a red granular marking", []string{stix.Green.ID()}, []string{stix.Red.ID()}}
	mGranAmber   = marking{"clear with an amber granular marking", []string{stix.Clear.ID()}, []string{stix.Amber.ID()}}
	mTLP1Green   = marking{"TLP 1.0 green", []string{tlp1Green}, nil}
	mUnknown     = marking{"an unknown marking-definition", []string{"marking-definition--" + uuid.NewString()}, nil}
)

// visibleMarking is what the owner user sees of an object: the marking of
// each version, by version.
func (c *city) markings(t *testing.T, id string) []bulwark.TLP {
	t.Helper()
	p, err := c.w.Svc.Versions(c.admin.Ctx(), c.intel, id, sharing.Query{Limit: 1000}, "")
	if err != nil {
		t.Fatal(err)
	}
	var out []bulwark.TLP
	for _, it := range p.Items {
		out = append(out, it.Marking)
	}
	return out
}

func TestAC02MarkingsNeverLowered(t *testing.T) {
	cases := []struct {
		name    string
		min     bulwark.TLP
		seq     []marking
		onePull bool // every version in one pull (one page), else one pull each
		want    bulwark.TLP
		water   bool // water (a reader of the collection) sees the object
	}{
		{"unmarked after green keeps green", "", []marking{mGreen, mUnmarked}, false, bulwark.TLPGreen, true},
		{"granular red removed", "", []marking{mGranRed, mGreen}, false, bulwark.TLPRed, false},
		{"granular red removed, same page", "", []marking{mGranRed, mGreen}, true, bulwark.TLPRed, false},
		{"granular amber removed", "", []marking{mGranAmber, mClear}, false, bulwark.TLPAmberStrict, false},
		{"amber then clear", "", []marking{mAmber, mClear}, false, bulwark.TLPAmberStrict, false},
		{"red then unmarked", "", []marking{mRed, mUnmarked}, false, bulwark.TLPRed, false},
		{"red then green, same page", "", []marking{mRed, mGreen}, true, bulwark.TLPRed, false},
		{"unknown definition then clear", "", []marking{mUnknown, mClear}, false, bulwark.TLPRed, false},
		{"green then red raises every version", "", []marking{mGreen, mRed}, false, bulwark.TLPRed, false},
		{"TLP 1.0 green then clear", "", []marking{mTLP1Green, mClear}, false, bulwark.TLPGreen, true},
		{"amber+strict then green then clear", "", []marking{mAmberStrict, mGreen, mClear}, false, bulwark.TLPAmberStrict, false},
		{"minimum marking lifts clear", bulwark.TLPAmberStrict, []marking{mClear, mClear}, false, bulwark.TLPAmberStrict, false},
		{"unmarked alone is amber+strict", "", []marking{mUnmarked}, false, bulwark.TLPAmberStrict, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := newFakePartner(t)
			c := newCity(t, Config{})
			f := c.subscribeFake(t, p, func(in *Input) { in.MinMarking = tc.min })
			id := newID("indicator")
			base := time.Now().UTC().Add(-time.Hour).Truncate(time.Millisecond)
			added := base
			for k, m := range tc.seq {
				o := obj(t, id, base.Add(time.Duration(k)*time.Minute), m.refs, m.granular)
				if !tc.onePull {
					added = added.Add(time.Second)
				}
				p.add(added, o)
				if !tc.onePull {
					if res := c.pull(t, f.ID); res.Err != nil || res.Rejected != 0 {
						t.Fatalf("pull %d: %+v", k, res)
					}
				}
			}
			if tc.onePull {
				if res := c.pull(t, f.ID); res.Err != nil || res.Rejected != 0 {
					t.Fatalf("pull: %+v", res)
				}
			}
			ms := c.markings(t, id)
			if len(ms) != len(tc.seq) {
				t.Fatalf("%d versions held, want %d (the partner's content must not be lost)", len(ms), len(tc.seq))
			}
			for k, m := range ms {
				if m != tc.want {
					t.Errorf("version %d held as %s, want %s", k, m, tc.want)
				}
			}
			if got := c.sees(t, c.water)[id]; got != tc.water {
				t.Errorf("water sees the object: %v, want %v", got, tc.water)
			}
		})
	}
}

// TestAC02RandomSequences: random versions with random markings, pulled in
// random batches. After every pull, for every object: the marking held
// never went down, no version is held below its own marking (AMBER as
// AMBER+STRICT), every version the partner sent is held, and water (a
// reader of the collection) sees an object only while every version is
// CLEAR or GREEN.
func TestAC02RandomSequences(t *testing.T) {
	all := []marking{mUnmarked, mClear, mGreen, mAmber, mAmberStrict, mRed, mGranRed, mGranAmber, mTLP1Green, mUnknown}
	seeds := 12
	if testing.Short() {
		seeds = 3
	}
	checks := 0
	for seed := range seeds {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(seed), 2026))
			p := newFakePartner(t)
			c := newCity(t, Config{PageSize: 1 + rng.IntN(5)})
			f := c.subscribeFake(t, p, nil)
			const objects = 5
			ids := make([]string, objects)
			for k := range ids {
				ids[k] = newID("indicator")
			}
			versions := make([]int, objects)
			sent := map[string][]*stix.Object{}
			held := map[string]int{} // rank held after the previous pull
			base := time.Now().UTC().Add(-10 * time.Hour).Truncate(time.Millisecond)
			added := base
			for round := range 8 {
				added = added.Add(time.Second)
				for range 1 + rng.IntN(4) {
					k := rng.IntN(objects)
					m := all[rng.IntN(len(all))]
					o := obj(t, ids[k], base.Add(time.Duration(versions[k])*time.Minute), m.refs, m.granular)
					versions[k]++
					sent[ids[k]] = append(sent[ids[k]], o)
					p.add(added, o)
				}
				res := c.pull(t, f.ID)
				if res.Err != nil || res.Rejected != 0 {
					t.Fatalf("round %d: %+v", round, res)
				}
				water := c.sees(t, c.water)
				for _, id := range ids {
					if len(sent[id]) == 0 {
						continue
					}
					ms := c.markings(t, id)
					if len(ms) != len(sent[id]) {
						t.Fatalf("round %d, %s: %d versions held, %d sent", round, id, len(ms), len(sent[id]))
					}
					top, allShareable := 0, true
					for v, m := range ms {
						own := tlpOf(stix.MarkingOf(sent[id][v]))
						if own == bulwark.TLPAmber || own == "" {
							own = bulwark.TLPAmberStrict // a partner's AMBER stays in the organization; unmarked is the default
						}
						if v > 0 && own == bulwark.TLPAmberStrict && tlpOf(stix.MarkingOf(sent[id][v])) == "" {
							own = "" // an unmarked later version keeps what is held
						}
						if m.Rank() < own.Rank() {
							t.Errorf("round %d, %s version %d held as %s, below its own %s", round, id, v, m, own)
						}
						top = max(top, m.Rank())
						if m.Rank() > bulwark.TLPGreen.Rank() {
							allShareable = false
						}
						checks++
					}
					if top < held[id] {
						t.Errorf("round %d, %s: held marking went down from rank %d to %d", round, id, held[id], top)
					}
					held[id] = top
					if water[id] && !allShareable {
						t.Errorf("round %d: water sees %s, held at rank %d", round, id, top)
					}
				}
			}
		})
	}
	t.Logf("%d version checks", checks)
}
