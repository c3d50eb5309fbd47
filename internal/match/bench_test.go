package match

import (
	"bufio"
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"bulwark"
	"bulwark/internal/cpe"
	"bulwark/internal/testenv"
)

// The scale corpus. NVD-scale data (≥ 300,000 CVEs, ≥ 1.2 M criteria) is
// built from the real NVD 1.1 feeds of the shared data set (86,949 CVEs),
// replicated with renamed vendors ("siemens", "siemens_r2", "siemens_r3",
// ...; IDs "CVE-2017-0001", "CVE-2017-0001-r2", ...) until both targets are
// reached, so every replica keeps NVD's real shapes (AND configurations,
// ranges, popular products). 100,000 distinct device components are drawn
// from the corpus's vulnerable criteria: the criterion's name with a
// version at, just below or just above one of its bounds (or its own
// version), plus the platform of its AND configuration when it has one,
// and the city products' example CPEs. 1,000,000 assets each carry one
// component, spread evenly.
//
// Building the corpus takes a minute; it is kept in a directory
// (BULWARK_MATCH_BENCH_DIR, default the system temporary directory) and
// reused by later runs.
const (
	scaleCVEs       = 300_000
	scaleCriteria   = 1_200_000
	scaleComponents = 100_000
	scaleAssets     = 1_000_000
	scaleChanged    = 200
)

func benchDir() string {
	if d := os.Getenv("BULWARK_MATCH_BENCH_DIR"); d != "" {
		return d
	}
	return filepath.Join(os.TempDir(), "bulwark-match-bench-v1")
}

var corpusOnce sync.Mutex

// scaleCorpus returns the paths of the corpus's index snapshot, its
// components and the IDs of the "changed" vulnerabilities, building them
// when absent.
func scaleCorpus(tb testing.TB) (snap string, components []string, changed []string) {
	data := testenv.SharedData(tb)
	corpusOnce.Lock()
	defer corpusOnce.Unlock()
	dir := benchDir()
	snap = filepath.Join(dir, "index.snap")
	compPath := filepath.Join(dir, "components.txt")
	changedPath := filepath.Join(dir, "changed.txt")
	if _, err := os.Stat(changedPath); err != nil {
		buildScaleCorpus(tb, data, dir)
	}
	read := func(p string) []string {
		b, err := os.ReadFile(p)
		if err != nil {
			tb.Fatal(err)
		}
		return strings.Split(strings.TrimSpace(string(b)), "\n")
	}
	return snap, read(compPath), read(changedPath)
}

func renameVendor(criteria, suffix string) string {
	parts := cpe.Split(criteria)
	if len(parts) < 5 {
		return criteria
	}
	parts[3] += suffix
	return strings.Join(parts, ":")
}

func renameNode(n bulwark.Node, suffix string) bulwark.Node {
	out := bulwark.Node{Operator: n.Operator, Negate: n.Negate}
	out.Matches = make([]bulwark.CPEMatch, len(n.Matches))
	for i, m := range n.Matches {
		m.Criteria = renameVendor(m.Criteria, suffix)
		out.Matches[i] = m
	}
	for _, c := range n.Children {
		out.Children = append(out.Children, renameNode(c, suffix))
	}
	return out
}

func countCriteria(n *bulwark.Node) int {
	c := len(n.Matches)
	for i := range n.Children {
		c += countCriteria(&n.Children[i])
	}
	return c
}

func buildScaleCorpus(tb testing.TB, data, dir string) {
	start := time.Now()
	paths, _ := filepath.Glob(filepath.Join(data, "nvd", "json-1.1", "*.json.gz"))
	base := loadNVD11(tb, paths...)
	criteria := 0
	for i := range base {
		for j := range base[i].Configurations {
			criteria += countCriteria(&base[i].Configurations[j])
		}
	}
	replicas := max((scaleCVEs+len(base)-1)/len(base), (scaleCriteria+criteria-1)/criteria)
	rng := rand.New(rand.NewPCG(1, 2))
	b := NewBuilder()
	comps := map[string]bool{}
	var compList []string
	var ids []string
	perVuln := scaleComponents/(len(base)*replicas) + 1
	for r := 1; r <= replicas; r++ {
		suffix := ""
		if r > 1 {
			suffix = "_r" + strconv.Itoa(r)
		}
		for i := range base {
			v := bulwark.Vulnerability{ID: base[i].ID}
			if r > 1 {
				v.ID += "-r" + strconv.Itoa(r)
			}
			for _, n := range base[i].Configurations {
				v.Configurations = append(v.Configurations, renameNode(n, suffix))
			}
			b.Add(&v)
			ids = append(ids, v.ID)
			if len(compList) < scaleComponents && rng.IntN(2) == 0 {
				for range perVuln {
					if c := sampleComponent(rng, &v); c != "" && !comps[c] {
						comps[c] = true
						compList = append(compList, c)
					}
				}
			}
		}
	}
	ix := b.Build()
	st := ix.Stats()
	tb.Logf("corpus: %d base CVEs × %d replicas = %d CVEs, %d criteria (%d distinct), %d nodes, built in %v",
		len(base), replicas, st.Vulns, replicas*criteria, st.Criteria, st.Nodes, time.Since(start))
	// City products' example CPEs.
	for _, a := range cityAssets(tb, filepath.Join(data, "city-products", "products.csv")) {
		c := strings.Join(a.CPEs, "\t")
		if !comps[c] {
			comps[c] = true
			compList = append(compList, c)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	var buf bytes.Buffer
	if err := ix.WriteSnapshot(&buf); err != nil {
		tb.Fatal(err)
	}
	write := func(name string, b []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	write("index.snap", buf.Bytes())
	write("components.txt", []byte(strings.Join(compList, "\n")+"\n"))
	rng.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
	write("changed.txt", []byte(strings.Join(ids[:scaleChanged], "\n")+"\n"))
	tb.Logf("corpus: %d components, snapshot %d MiB, written in %v", len(compList), buf.Len()>>20, time.Since(start))
}

// sampleComponent draws a device from one of v's configurations: a
// vulnerable criterion's name with a version near its bounds, and the
// platform of its AND configuration if any.
func sampleComponent(rng *rand.Rand, v *bulwark.Vulnerability) string {
	if len(v.Configurations) == 0 {
		return ""
	}
	root := &v.Configurations[rng.IntN(len(v.Configurations))]
	var vuln, platform []bulwark.CPEMatch
	var walk func(n *bulwark.Node)
	walk = func(n *bulwark.Node) {
		for _, m := range n.Matches {
			if m.Vulnerable {
				vuln = append(vuln, m)
			} else {
				platform = append(platform, m)
			}
		}
		for i := range n.Children {
			walk(&n.Children[i])
		}
	}
	walk(root)
	if len(vuln) == 0 {
		return ""
	}
	m := vuln[rng.IntN(len(vuln))]
	name, err := cpe.Parse(m.Criteria)
	if err != nil {
		return ""
	}
	if name[cpe.Version] == "*" {
		var vers []string
		for _, bound := range []string{m.VersionStartIncluding, m.VersionStartExcluding, m.VersionEndIncluding, m.VersionEndExcluding} {
			if bound == "" {
				continue
			}
			vers = append(vers, bound, successor(bound))
			if p, ok := predecessor(bound); ok {
				vers = append(vers, p)
			}
		}
		if len(vers) == 0 {
			vers = []string{"1.0", "2.3.1"}
		}
		name = nameWithVersion(name, vers[rng.IntN(len(vers))])
	}
	out := name.String()
	if root.Operator == bulwark.AND && len(platform) > 0 {
		out += "\t" + platform[rng.IntN(len(platform))].Criteria
	}
	return out
}

func nameWithVersion(n cpe.Name, v string) cpe.Name {
	p, err := cpe.Parse(withVersion(n, v))
	if err != nil {
		return n
	}
	return p
}

// scaleInventory compiles the 1M-asset inventory from the components.
func scaleInventory(tb testing.TB, components []string) *Inventory {
	b := NewInventoryBuilder()
	comps := make([][]string, len(components))
	for i, c := range components {
		comps[i] = strings.Split(c, "\t")
	}
	var a bulwark.Asset
	for i := range scaleAssets {
		a.ID = "asset-" + strconv.Itoa(i)
		a.CPEs = comps[(uint64(i)*2654435761)%uint64(len(comps))]
		if p := b.Add(&a); len(p) > 0 {
			tb.Fatalf("asset %d: %v", i, p)
		}
	}
	return b.Build()
}

func loadScale(tb testing.TB) (*Index, *Inventory, []string) {
	snap, components, changed := scaleCorpus(tb)
	f, err := os.Open(snap)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	ix, err := ReadSnapshot(bufio.NewReader(f))
	if err != nil {
		tb.Fatal(err)
	}
	return ix, scaleInventory(tb, components), changed
}

// reportCPU adds CPU time per operation to a benchmark's output: the
// machine is shared, and wall time alone says little.
func reportCPU(b *testing.B) func() {
	cpu := testenv.CPUTime()
	return func() { b.ReportMetric(float64(testenv.CPUTime()-cpu)/float64(b.N), "cpu-ns/op") }
}

func BenchmarkColdStart(b *testing.B) {
	snap, _, _ := scaleCorpus(b)
	defer reportCPU(b)()
	for b.Loop() {
		f, err := os.Open(snap)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := ReadSnapshot(f); err != nil {
			b.Fatal(err)
		}
		f.Close()
	}
}

func BenchmarkNewInventory1M(b *testing.B) {
	_, components, _ := scaleCorpus(b)
	defer reportCPU(b)()
	for b.Loop() {
		scaleInventory(b, components)
	}
}

func BenchmarkMatchAll1M(b *testing.B) {
	ix, inv, _ := loadScale(b)
	runtime.GC()
	b.ResetTimer()
	defer reportCPU(b)()
	var n int
	for b.Loop() {
		n = 0
		ix.MatchAll(inv, func(Match) { n++ })
	}
	b.ReportMetric(float64(n), "matches")
}

func BenchmarkMatchVulns200(b *testing.B) {
	ix, inv, changed := loadScale(b)
	runtime.GC()
	b.ResetTimer()
	defer reportCPU(b)()
	var n int
	for b.Loop() {
		n = 0
		ix.MatchVulns(inv, changed, func(Match) { n++ })
	}
	b.ReportMetric(float64(n), "matches")
}

// TestScale runs the whole pipeline at scale once and reports times and
// peak memory (the process's high-water mark, so run it alone:
// BULWARK_MATCH_SCALE=1 go test -run TestScale -v). The corpus must exist
// already (any benchmark builds it) so that building it does not count.
func TestScale(t *testing.T) {
	if os.Getenv("BULWARK_MATCH_SCALE") == "" {
		t.Skip("set BULWARK_MATCH_SCALE=1 to run the 1M-asset scale test")
	}
	snap, components, changed := scaleCorpus(t)
	runtime.GC()
	// The machine is shared: CPU time (user+system of this process) is
	// reported beside wall time.
	start, cpu := time.Now(), testenv.CPUTime()
	phase := func() string {
		s := fmt.Sprintf("%v wall, %v CPU", time.Since(start).Round(time.Millisecond), (testenv.CPUTime() - cpu).Round(time.Millisecond))
		start, cpu = time.Now(), testenv.CPUTime()
		return s
	}
	f, err := os.Open(snap)
	if err != nil {
		t.Fatal(err)
	}
	ix, err := ReadSnapshot(bufio.NewReader(f))
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	tLoad := phase()
	inv := scaleInventory(t, components)
	tInv := phase()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	heapLoaded := ms.HeapAlloc
	phase()
	counts := map[bulwark.Confidence]int{}
	assetsHit := make([]bool, inv.Len())
	ix.MatchAll(inv, func(m Match) { counts[m.Confidence]++; assetsHit[m.Asset] = true })
	tAll := phase()
	hit := 0
	for _, h := range assetsHit {
		if h {
			hit++
		}
	}
	phase()
	nv := 0
	ix.MatchVulns(inv, changed, func(Match) { nv++ })
	tVulns := phase()
	na := 0
	someAssets := make([]int32, 1000)
	for i := range someAssets {
		someAssets[i] = int32(i * 997)
	}
	phase()
	ix.MatchAssets(inv, someAssets, func(Match) { na++ })
	tAssets := phase()
	st := ix.Stats()
	t.Logf("index: %d CVEs, %d distinct criteria, %d names, %d ranges, %d nodes", st.Vulns, st.Criteria, st.Names, st.Ranges, st.Nodes)
	t.Logf("inventory: %d assets, %d profiles, %d distinct CPEs", inv.Len(), inv.Profiles(), inv.DistinctCPEs())
	t.Logf("cold start (ReadSnapshot) %s; inventory %s; heap after load %d MiB", tLoad, tInv, heapLoaded>>20)
	t.Logf("MatchAll %s: %v matches, %d assets with a finding", tAll, counts, hit)
	t.Logf("MatchVulns(%d changed) %s: %d matches; MatchAssets(1000) %s: %d matches", len(changed), tVulns, nv, tAssets, na)
	if b, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "VmHWM") {
				t.Logf("peak RSS %s", strings.Join(strings.Fields(l)[1:], " "))
			}
		}
	}
}

// TestSideBySide matches the input nvdtools' cpe2cve reads (one asset per
// line: ID, tab, comma-separated CPEs) against the real NVD 1.1 feeds, the
// whole way from the gzip-compressed JSON feeds, so that its time and peak
// memory compare with cpe2cve's on the same machine and input
// (BULWARK_MATCH_SIDE=input.tsv go test -run TestSideBySide -v).
func TestSideBySide(t *testing.T) {
	input := os.Getenv("BULWARK_MATCH_SIDE")
	if input == "" {
		t.Skip("set BULWARK_MATCH_SIDE to a cpe2cve input file")
	}
	data := testenv.SharedData(t)
	start, cpu := time.Now(), testenv.CPUTime()
	paths, _ := filepath.Glob(filepath.Join(data, "nvd", "json-1.1", "*.json.gz"))
	vulns := loadNVD11(t, paths...)
	b := NewBuilder()
	for i := range vulns {
		b.Add(&vulns[i])
	}
	vulns = nil
	ix := b.Build()
	t.Logf("feeds read and compiled: %v wall, %v CPU", time.Since(start).Round(time.Millisecond), (testenv.CPUTime() - cpu).Round(time.Millisecond))
	f, err := os.Open(input)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ib := NewInventoryBuilder()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		id, cpes, _ := strings.Cut(sc.Text(), "\t")
		ib.Add(&bulwark.Asset{ID: id, CPEs: strings.Split(cpes, ",")})
	}
	inv := ib.Build()
	n := 0
	ix.MatchAll(inv, func(Match) { n++ })
	t.Logf("%d assets, %d matches: %v wall, %v CPU in all", inv.Len(), n, time.Since(start).Round(time.Millisecond), (testenv.CPUTime() - cpu).Round(time.Millisecond))
	if b, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "VmHWM") {
				t.Logf("peak RSS %s", strings.Join(strings.Fields(l)[1:], " "))
			}
		}
	}
}
