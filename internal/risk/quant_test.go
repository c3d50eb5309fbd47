package risk

import (
	"math"
	"math/rand/v2"
	"reflect"
	"testing"

	"bulwark"
)

// TestPERTMoments: the sample mean of PERT draws converges to
// (min + 4·mode + max) / 6, and draws stay within the range.
func TestPERTMoments(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, r := range []bulwark.Range{{Min: 0, MostLikely: 1, Max: 10}, {Min: 100, MostLikely: 900, Max: 1000}, {Min: 5, MostLikely: 5, Max: 5}, {Min: 0, MostLikely: 0, Max: 1}} {
		const n = 200_000
		var sum, sq float64
		for range n {
			x := PERT(rng, r)
			if x < r.Min || x > r.Max {
				t.Fatalf("%+v: draw %v outside the range", r, x)
			}
			sum += x
			sq += x * x
		}
		mean := sum / n
		sd := math.Sqrt(sq/n - mean*mean)
		// Within 5 standard errors of the exact mean.
		if want := PERTMean(r); math.Abs(mean-want) > 5*sd/math.Sqrt(n)+1e-12 {
			t.Errorf("%+v: mean %v, want %v", r, mean, want)
		}
	}
}

func TestPoissonMean(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, lambda := range []float64{0, 0.05, 1, 7.5, 45, 800} {
		const n = 100_000
		sum := 0
		for range n {
			sum += poisson(rng, lambda)
		}
		mean := float64(sum) / n
		if se := math.Sqrt(lambda / n); math.Abs(mean-lambda) > 5*se+1e-12 {
			t.Errorf("λ=%v: mean %v", lambda, mean)
		}
	}
}

// TestAnalyzeKnownValues: with a fixed rate and a fixed loss the annual
// loss is loss × Poisson(rate), so its mean is rate × loss, the share of
// loss-free years is exp(-rate), and the city adds the risks.
func TestAnalyzeKnownValues(t *testing.T) {
	risks := []bulwark.Risk{
		{ID: "a", Frequency: bulwark.Range{Min: 0.5, MostLikely: 0.5, Max: 0.5}, Loss: bulwark.Range{Min: 1000, MostLikely: 1000, Max: 1000}},
		{ID: "b", Frequency: bulwark.Range{Min: 2, MostLikely: 2, Max: 2}, Loss: bulwark.Range{Min: 10, MostLikely: 10, Max: 10}},
		{ID: "c"}, // not quantified
	}
	a, err := Analyze(risks, 100_000, 42)
	if err != nil {
		t.Fatal(err)
	}
	ra := a.Risks["a"]
	if !(ra.MeanLow <= 500 && 500 <= ra.MeanHigh) {
		t.Errorf("a: mean %v [%v, %v], exact 500", ra.Mean, ra.MeanLow, ra.MeanHigh)
	}
	if math.Abs(ra.PZero-math.Exp(-0.5)) > 0.01 {
		t.Errorf("a: P(no loss) %v, exact %v", ra.PZero, math.Exp(-0.5))
	}
	if c := a.City; !(c.MeanLow <= 520 && 520 <= c.MeanHigh) {
		t.Errorf("city: mean %v [%v, %v], exact 520", c.Mean, c.MeanLow, c.MeanHigh)
	}
	if len(a.Skipped) != 1 || a.Skipped[0] != "c" {
		t.Errorf("skipped %v", a.Skipped)
	}
	// The exceedance curve falls as the loss grows and starts at the share
	// of years with a loss.
	ex := a.City.Exceedance
	if len(ex) == 0 || math.Abs(ex[0].Probability-(1-a.City.PZero)) > 1e-9 {
		t.Errorf("curve starts at %+v, P(loss>0) = %v", ex[0], 1-a.City.PZero)
	}
	for i := 1; i < len(ex); i++ {
		if ex[i].Probability > ex[i-1].Probability || ex[i].Loss < ex[i-1].Loss {
			t.Fatalf("exceedance curve not monotone at %d: %+v %+v", i, ex[i-1], ex[i])
		}
	}
	if !(a.City.P50 <= a.City.P90 && a.City.P90 <= a.City.P99 && a.City.P99 <= a.City.Max) {
		t.Errorf("quantiles out of order: %+v", a.City)
	}
}

func TestAnalyzeDeterministic(t *testing.T) {
	risks := []bulwark.Risk{{ID: "x", Frequency: bulwark.Range{Min: 0.1, MostLikely: 0.3, Max: 2}, Loss: bulwark.Range{Min: 1e4, MostLikely: 1e5, Max: 2e6}}}
	a1, _ := Analyze(risks, 5000, 7)
	a2, _ := Analyze(risks, 5000, 7)
	a3, _ := Analyze(risks, 5000, 8)
	if !reflect.DeepEqual(a1, a2) {
		t.Error("same seed, different results")
	}
	if reflect.DeepEqual(a1.City, a3.City) {
		t.Error("different seeds, identical results")
	}
	if _, err := Analyze(risks, 0, 1); bulwark.ErrorCode(err) != bulwark.EINVALID {
		t.Errorf("0 trials: %v", err)
	}
	if _, err := Analyze(risks, MaxTrials+1, 1); bulwark.ErrorCode(err) != bulwark.EINVALID {
		t.Errorf("too many trials: %v", err)
	}
	empty, err := Analyze(nil, 10, 1)
	if err != nil || empty.City.Mean != 0 || len(empty.City.Exceedance) != 0 {
		t.Errorf("no risks: %v %+v", err, empty.City)
	}
}

func BenchmarkAnalyze(b *testing.B) {
	var risks []bulwark.Risk
	for i := range 200 {
		risks = append(risks, bulwark.Risk{ID: string(rune('a' + i%26)), Frequency: bulwark.Range{Min: 0.05, MostLikely: 0.3, Max: 2},
			Loss: bulwark.Range{Min: 1e4, MostLikely: 2e5, Max: 5e6}})
	}
	for b.Loop() {
		if _, err := Analyze(risks, 10_000, 1); err != nil {
			b.Fatal(err)
		}
	}
}
