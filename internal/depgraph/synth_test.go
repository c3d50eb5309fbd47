package depgraph

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"

	"bulwark"
	"bulwark/internal/testenv"

	"github.com/google/go-cmp/cmp"
)

// synthCity builds a city-shaped GraphData with about `assets` assets:
// 40 services (the first 8 foundational ones, such as power and
// communications, that the others depend on), up to 1,500 systems
// (1/75 of them shared infrastructure: power feeds and network cores
// that every other system depends on, the cores through a 1-of-2 group),
// and assets attached to systems as hard singletons (servers, PLCs, some
// depending on a local switch), k-of-n groups (redundant pumps, feeders,
// switches; half of them sharing one upstream feeder, a common mode) and
// large soft fleets (meters, cameras). A few system pairs form cycles.
// Nodes come out in store order (services, systems, assets), not ID order.
func synthCity(assets int) *bulwark.GraphData {
	r := rand.New(rand.NewPCG(20261122, uint64(assets)))
	d := &bulwark.GraphData{}
	lv := func() bulwark.Level { return bulwark.Level(1 + r.IntN(3)) }
	node := func(id string, kind bulwark.NodeKind) int64 {
		ref := int64(len(d.Nodes) + 1)
		d.Nodes = append(d.Nodes, bulwark.GraphNode{Ref: ref, ID: id, Kind: kind, Owner: "org-" + strconv.Itoa(r.IntN(12)), Name: id})
		return ref
	}
	edge := func(from, to int64, soft bool, group string) {
		k := bulwark.Hard
		if soft {
			k = bulwark.Soft
		}
		d.Edges = append(d.Edges, bulwark.GraphEdge{From: from, To: to, Kind: k, Group: group})
	}

	const nServices, nFoundational = 40, 8
	nSystems := min(max(assets/8, 40), 1500)
	nInfra := max(nSystems/75, 4) // half power feeds, half network cores
	svc := make([]int64, nServices)
	for i := range svc {
		svc[i] = node(fmt.Sprintf("svc-%02d", i), bulwark.KindService)
		n := &d.Nodes[len(d.Nodes)-1]
		n.Population = int64(5000 + r.IntN(800000))
		n.Category = bulwark.Category{Confidentiality: lv(), Integrity: lv(), Availability: lv()}
	}
	for i := 1; i < nServices; i++ {
		if i < nFoundational {
			edge(svc[i], svc[0], false, "") // everything needs power
			continue
		}
		a := r.IntN(nFoundational)
		b := (a + 1 + r.IntN(nFoundational-1)) % nFoundational
		edge(svc[i], svc[a], r.IntN(2) == 0, "")
		edge(svc[i], svc[b], true, "")
	}
	sys := make([]int64, nSystems)
	for j := range sys {
		sys[j] = node(fmt.Sprintf("sys-%04d", j), bulwark.KindSystem)
	}
	half := nInfra / 2
	ownDC := map[int]int{} // service -> systems put in its "dc" group
	for j := nInfra; j < nSystems; j++ {
		s := j % nServices
		switch {
		case ownDC[s] < 2:
			if ownDC[s] == 0 {
				d.Groups = append(d.Groups, bulwark.GraphGroup{Owner: svc[s], ID: "dc", Need: 1})
			}
			ownDC[s]++
			edge(svc[s], sys[j], false, "dc")
		default:
			edge(svc[s], sys[j], r.IntN(10) < 3, "")
		}
		edge(sys[j], sys[j%half], false, "")
		d.Groups = append(d.Groups, bulwark.GraphGroup{Owner: sys[j], ID: "net", Need: 1})
		edge(sys[j], sys[half+j%(nInfra-half)], false, "net")
		edge(sys[j], sys[half+(j+1)%(nInfra-half)], false, "net")
		if j%50 == 27 && j+1 < nSystems { // historian <-> SCADA
			edge(sys[j], sys[j+1], true, "")
			edge(sys[j+1], sys[j], false, "")
		}
	}

	// Assets, system by system in random order.
	type group struct {
		id           string
		size, need   int
		feeder       int64
		owner, count int
	}
	open := make([]*group, nSystems)
	var groups []*group
	switches := make([]int64, nSystems)
	for a := 0; a < assets; a++ {
		j := r.IntN(nSystems)
		id := fmt.Sprintf("ast-%07d", a)
		p := r.IntN(100)
		switch {
		case p < 25: // hard singleton: server, PLC
			x := node(id, bulwark.KindAsset)
			edge(sys[j], x, false, "")
			if p < 3 {
				if switches[j] == 0 {
					a++
					switches[j] = node(fmt.Sprintf("ast-%07d", a), bulwark.KindAsset)
					edge(sys[j], switches[j], false, "")
				}
				edge(x, switches[j], false, "")
			}
		case p < 40: // k-of-n group member: pumps, feeders, switches
			x := node(id, bulwark.KindAsset)
			gr := open[j]
			if gr == nil || gr.count == gr.size {
				size := 2 + r.IntN(3)
				gr = &group{id: "g" + strconv.Itoa(len(groups)), size: size, need: 1 + r.IntN(size-1), owner: j}
				if r.IntN(2) == 0 { // members share one upstream feeder
					a++
					gr.feeder = node(fmt.Sprintf("ast-%07d", a), bulwark.KindAsset)
				}
				open[j] = gr
				groups = append(groups, gr)
			}
			edge(sys[j], x, false, gr.id)
			if gr.feeder != 0 {
				edge(x, gr.feeder, false, "")
			}
			gr.count++
		default: // soft fleet: meters, cameras
			x := node(id, bulwark.KindAsset)
			d.Nodes[len(d.Nodes)-1].Count = int64(1 + r.IntN(50))
			edge(sys[j], x, true, "")
		}
	}
	for _, gr := range groups {
		d.Groups = append(d.Groups, bulwark.GraphGroup{Owner: sys[gr.owner], ID: gr.id, Need: min(gr.need, gr.count)})
	}
	return d
}

func benchAssets(tb testing.TB) int { return testenv.BenchAssets(tb) }

// TestSyntheticCityMatchesOracle checks the realistic shape (shared
// infrastructure, nested groups, common modes, cycles) against the oracle.
func TestSyntheticCityMatchesOracle(t *testing.T) {
	d := synthCity(400)
	g, err := Compile(d)
	if err != nil {
		t.Fatal(err)
	}
	a := Analyze(g)
	if diff := cmp.Diff(runOracle(d), fromAnalysis(a), cmp.AllowUnexported(oracle{})); diff != "" {
		t.Fatalf("Analyze disagrees with the oracle (-oracle +analyze):\n%s", diff)
	}
	s := summarize(a)
	if s.commonMode == 0 || s.spofs == 0 || s.cycles == 0 || s.degraded == 0 {
		t.Errorf("synthetic city lacks a feature: %+v", s)
	}
}

// summary condenses an analysis into numbers that the peer script
// (bench/networkx) prints too, to show both computed the same answer.
type summary struct {
	spofs, commonMode, cycles, degraded int64
	popLost, catSum                     int64
}

func summarize(a *Analysis) summary {
	var s summary
	for i := range a.services {
		for _, v := range a.kill[i] {
			if v&^plainBit != uint32(a.services[i]) {
				s.spofs++
				if v&plainBit == 0 {
					s.commonMode++
				}
			}
		}
	}
	for x := range int32(a.g.Len()) {
		s.popLost += a.popLost[x]
		s.degraded += int64(a.nDeg[x])
		c := a.cat[x]
		s.catSum += int64(c.Confidentiality) + int64(c.Integrity) + int64(c.Availability)
	}
	s.cycles = int64(len(a.cycles))
	return s
}

func (s summary) String() string {
	return fmt.Sprintf("spofs=%d common_mode=%d cycles=%d degraded_pairs=%d population_lost_sum=%d category_sum=%d",
		s.spofs, s.commonMode, s.cycles, s.degraded, s.popLost, s.catSum)
}

// TestExportSyntheticCity writes the synthetic city as a tab-separated file
// for the networkx peer benchmark when BULWARK_EXPORT_GRAPH names a path
// (size from BULWARK_BENCH_ASSETS), and prints the Go timings and summary.
func TestExportSyntheticCity(t *testing.T) {
	path := os.Getenv("BULWARK_EXPORT_GRAPH")
	if path == "" {
		t.Skip("set BULWARK_EXPORT_GRAPH=file to export the synthetic city")
	}
	d := synthCity(benchAssets(t))
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	ids := map[int64]string{}
	for _, n := range d.Nodes {
		ids[n.Ref] = n.ID
		fmt.Fprintf(w, "N\t%s\t%s\t%d\t%d\t%d\t%d\n", n.ID, n.Kind, n.Population,
			n.Category.Confidentiality, n.Category.Integrity, n.Category.Availability)
	}
	for _, gr := range d.Groups {
		fmt.Fprintf(w, "G\t%s\t%s\t%d\n", ids[gr.Owner], gr.ID, gr.Need)
	}
	for _, e := range d.Edges {
		fmt.Fprintf(w, "E\t%s\t%s\t%s\t%s\n", ids[e.From], ids[e.To], e.Kind, e.Group)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	start, cpu0 := time.Now(), testenv.CPUTime()
	g, err := Compile(d)
	if err != nil {
		t.Fatal(err)
	}
	compiled, cpu1 := time.Now(), testenv.CPUTime()
	a := Analyze(g)
	done, cpu2 := time.Now(), testenv.CPUTime()
	t.Logf("nodes=%d edges=%d compile=%v (cpu %v) analyze=%v (cpu %v)", g.Len(), g.NumEdges(),
		compiled.Sub(start), cpu1-cpu0, done.Sub(compiled), cpu2-cpu1)
	t.Logf("summary: %v", summarize(a))
}

func BenchmarkCompile(b *testing.B) {
	d := synthCity(benchAssets(b))
	b.ReportMetric(float64(len(d.Nodes)), "nodes")
	b.ResetTimer()
	defer reportCPU(b)()
	for b.Loop() {
		if _, err := Compile(d); err != nil {
			b.Fatal(err)
		}
	}
}

// reportCPU adds a cpu-s/op metric (user + system time of the process per
// operation): on a busy machine wall time overstates the work.
func reportCPU(b *testing.B) func() {
	start := testenv.CPUTime()
	return func() {
		if b.N > 0 {
			b.ReportMetric((testenv.CPUTime()-start).Seconds()/float64(b.N), "cpu-s/op")
		}
	}
}

// BenchmarkCompileShuffled is the worst case: nodes in random order, so
// Compile falls back to a full comparison sort of the IDs.
func BenchmarkCompileShuffled(b *testing.B) {
	d := synthCity(benchAssets(b))
	r := rand.New(rand.NewPCG(1, 2))
	r.Shuffle(len(d.Nodes), func(i, j int) { d.Nodes[i], d.Nodes[j] = d.Nodes[j], d.Nodes[i] })
	b.ResetTimer()
	defer reportCPU(b)()
	for b.Loop() {
		if _, err := Compile(d); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAnalyze(b *testing.B) {
	g, err := Compile(synthCity(benchAssets(b)))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(g.Len()), "nodes")
	b.ResetTimer()
	defer reportCPU(b)()
	for b.Loop() {
		Analyze(g)
	}
}

func BenchmarkReport100(b *testing.B) {
	g, err := Compile(synthCity(benchAssets(b)))
	if err != nil {
		b.Fatal(err)
	}
	a := Analyze(g)
	b.ResetTimer()
	defer reportCPU(b)()
	for b.Loop() {
		a.Report(100)
	}
}

func BenchmarkServiceView(b *testing.B) {
	g, err := Compile(synthCity(benchAssets(b)))
	if err != nil {
		b.Fatal(err)
	}
	a := Analyze(g)
	b.ResetTimer()
	defer reportCPU(b)()
	for b.Loop() {
		if _, ok := a.ServiceView("svc-00"); !ok {
			b.Fatal("no view")
		}
	}
}
