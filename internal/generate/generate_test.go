package generate

import (
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"bulwark"
)

func generateChecked(t testing.TB, opt Options) (*cityCheck, []*bulwark.City) {
	t.Helper()
	c := newCityCheck()
	var chunks []*bulwark.City
	err := Generate(opt, func(ch *bulwark.City) error {
		c.chunk(ch)
		chunks = append(chunks, ch)
		return nil
	})
	if err != nil {
		t.Fatalf("Generate(%+v): %v", opt, err)
	}
	for _, p := range c.finish() {
		t.Errorf("Generate(%+v): %s", opt, p)
	}
	return c, chunks
}

// TestGenerateValid checks ids, references, groups, CPEs and acyclicity on
// small and odd sizes, where the budget runs out in the middle of a system.
func TestGenerateValid(t *testing.T) {
	for _, n := range []int{0, 1, 7, 100, 333, 1000, 4321} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			c, _ := generateChecked(t, Options{Assets: n, Seed: int64(n) + 1})
			if c.assets != n {
				t.Errorf("got %d asset entries, want %d", c.assets, n)
			}
		})
	}
}

func TestGenerateDeterministic(t *testing.T) {
	gen := func(opt Options) []*bulwark.City {
		var out []*bulwark.City
		if err := Generate(opt, func(c *bulwark.City) error { out = append(out, c); return nil }); err != nil {
			t.Fatal(err)
		}
		return out
	}
	a := gen(Options{Assets: 5000, Seed: 42})
	b := gen(Options{Assets: 5000, Seed: 42})
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("same seed, different city (-first +second):\n%s", cmp.Diff(a, b))
	}
	c := gen(Options{Assets: 5000, Seed: 43})
	if reflect.DeepEqual(a, c) {
		t.Fatal("seeds 42 and 43 gave the same city")
	}
	// The shape does not depend on the seed: same ids, different details.
	if len(a) != len(c) || len(a[0].Systems) != len(c[0].Systems) || a[len(a)-1].Assets[0].ID == "" {
		t.Errorf("seed changed the city's shape: %d vs %d chunks", len(a), len(c))
	}
}

// TestGenerateScaling checks the asset entry counts, the chunking and how
// services and systems grow with the city.
func TestGenerateScaling(t *testing.T) {
	sizes := []int{1000, 10000, 100000}
	if testing.Short() {
		sizes = sizes[:2]
	}
	for _, n := range sizes {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			var assets, chunks, services, systems int
			err := Generate(Options{Assets: n, Seed: 7}, func(c *bulwark.City) error {
				chunks++
				if chunks == 1 {
					if len(c.Assets) != 0 || len(c.Organizations) == 0 {
						t.Errorf("first chunk: %d assets, %d organizations", len(c.Assets), len(c.Organizations))
					}
					services, systems = len(c.Services), len(c.Systems)
					return nil
				}
				if len(c.Organizations)+len(c.Services)+len(c.Systems) != 0 {
					t.Errorf("asset chunk %d carries more than assets", chunks)
				}
				if len(c.Assets) == 0 || len(c.Assets) > ChunkSize {
					t.Errorf("asset chunk %d has %d assets", chunks, len(c.Assets))
				}
				assets += len(c.Assets)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if assets != n {
				t.Errorf("%d asset entries, want %d", assets, n)
			}
			if want := 1 + (n+ChunkSize-1)/ChunkSize; chunks != want {
				t.Errorf("%d chunks, want %d", chunks, want)
			}
			if want := len(serviceTemplates) + n/50000; services != want {
				t.Errorf("%d services, want %d", services, want)
			}
			if want := max(systemCount(n), baseSystems()); systems != want {
				t.Errorf("%d systems, want %d", systems, want)
			}
		})
	}
	if got := systemCount(1_000_000); got < 1400 || got > 1600 {
		t.Errorf("a million assets would have %d systems, want about 1,500", got)
	}
	if got := systemCount(10_000); got != 150 {
		t.Errorf("10,000 assets would have %d systems, want 150", got)
	}
}

func baseSystems() int {
	n := 0
	for _, t := range systemTemplates {
		if t.repeat == 0 {
			n++
		}
	}
	return n
}

// TestGenerateLarge validates a city big enough to have district service
// variants and hundreds of numbered systems.
func TestGenerateLarge(t *testing.T) {
	if testing.Short() {
		t.Skip("large city")
	}
	n := 110000
	c, chunks := generateChecked(t, Options{Assets: n, Seed: 3, Name: "Eastport"})
	if c.assets != n {
		t.Errorf("got %d assets, want %d", c.assets, n)
	}
	head := chunks[0]
	var variants int
	for _, s := range head.Services {
		if strings.Contains(s.ID, "-district-") {
			variants++
			if len(s.DependsOn) == 0 {
				t.Errorf("variant %s depends on nothing", s.ID)
			}
		}
	}
	if variants != n/50000 {
		t.Errorf("%d district variants, want %d", variants, n/50000)
	}
	if !strings.HasPrefix(head.Organizations[0].Name, "Eastport ") {
		t.Errorf("city name not used: %q", head.Organizations[0].Name)
	}
}

func TestGenerateErrors(t *testing.T) {
	noop := func(*bulwark.City) error { return nil }
	for _, opt := range []Options{{Assets: -1}, {Assets: MaxAssets + 1}, {Assets: 10, Name: "Evil\nName"}, {Assets: 10, Name: strings.Repeat("x", 101)}} {
		err := Generate(opt, noop)
		var be *bulwark.Error
		if !errors.As(err, &be) || be.Code != bulwark.EINVALID {
			t.Errorf("Generate(%+v) = %v, want an EINVALID error", opt, err)
		}
	}
	// The first error from emit stops generation and is returned as is.
	stop := errors.New("disk full")
	calls := 0
	err := Generate(Options{Assets: 5000}, func(*bulwark.City) error {
		calls++
		if calls == 3 {
			return stop
		}
		return nil
	})
	if err != stop || calls != 3 {
		t.Errorf("emit error: got %v after %d calls, want %v after 3", err, calls, stop)
	}
	if err := Generate(Options{}, func(*bulwark.City) error { return stop }); err != stop {
		t.Errorf("error on the first chunk: got %v", err)
	}
}

// TestGenerateMemoryBounded checks that generation streams: the heap stays
// small while a city of 200,000 assets goes by.
func TestGenerateMemoryBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("large city")
	}
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	var peak uint64
	chunks := 0
	err := Generate(Options{Assets: 200000, Seed: 9}, func(c *bulwark.City) error {
		chunks++
		if chunks%20 == 0 {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	peak -= min(peak, base)
	if peak > 64<<20 {
		t.Errorf("heap grew by %d MiB while streaming", peak>>20)
	}
	t.Logf("peak heap growth %.1f MiB", float64(peak)/(1<<20))
}

func BenchmarkGenerate1M(b *testing.B) {
	benchmarkGenerate(b, 1_000_000)
}

func BenchmarkGenerate10k(b *testing.B) {
	benchmarkGenerate(b, 10_000)
}

func benchmarkGenerate(b *testing.B, n int) {
	b.ReportAllocs()
	var ms runtime.MemStats
	var peak uint64
	for b.Loop() {
		chunks := 0
		err := Generate(Options{Assets: n, Seed: 1}, func(c *bulwark.City) error {
			chunks++
			if chunks%10 == 0 {
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapAlloc)
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "assets/s")
}
