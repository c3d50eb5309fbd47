package sim

import (
	"math"
	"testing"
)

func TestDistQuantile(t *testing.T) {
	tests := []struct {
		d    Dist
		u    float64
		want float64
	}{
		{Fixed(3), 0.9, 3},
		{Dist{}, 0.5, 0},
		{Dist{Kind: "uniform", Min: 2, Max: 6}, 0.25, 3},
		// Triangular(0, 2, 10): F(2) = 0.2; below it F(x) = x²/20.
		{Triangular(0, 2, 10), 0.2, 2},
		{Triangular(0, 2, 10), 0.05, 1},
		// Above the mode, 1-F(x) = (10-x)²/80: F(6) = 0.8.
		{Triangular(0, 2, 10), 0.8, 6},
		{Triangular(4, 4, 4), 0.3, 4},
		{LogNormal(5, 0.7), 0.5, 5},
		// Φ(1) = 0.8413447: one sigma above the median.
		{LogNormal(5, 0.7), 0.8413447460685429, 5 * math.Exp(0.7)},
		{Dist{Kind: "lognormal", Mode: 5, Sigma: 3, Max: 20}, 0.999, 20},
	}
	for _, tt := range tests {
		if got := tt.d.Quantile(tt.u); math.Abs(got-tt.want) > 1e-9*max(1, tt.want) {
			t.Errorf("%+v.Quantile(%v) = %v, want %v", tt.d, tt.u, got, tt.want)
		}
	}
	// Sample means by inversion on a fine grid match Mean.
	for _, d := range []Dist{Fixed(2), {Kind: "uniform", Min: 1, Max: 3}, Triangular(1, 2, 9), LogNormal(4, 0.5)} {
		const n = 200_000
		sum := 0.0
		for i := range n {
			sum += d.Quantile((float64(i) + 0.5) / n)
		}
		if got := sum / n; math.Abs(got-d.Mean()) > 1e-3*d.Mean() {
			t.Errorf("%+v: mean by inversion %v, Mean %v", d, got, d.Mean())
		}
	}
	if s := Triangular(2, 4, 8).Scale(0.5); s != Triangular(1, 2, 4) {
		t.Errorf("Scale = %+v", s)
	}
}

func TestDraw(t *testing.T) {
	// Uniform in (0, 1), distinct across keys, streams and trials, stable.
	b := trialBase(1, 0)
	seen := map[float64]bool{}
	sum := 0.0
	const n = 100_000
	for k := range uint64(n) {
		u := draw(b, streamHit, k)
		if !(u > 0 && u < 1) || seen[u] {
			t.Fatalf("draw %d = %v", k, u)
		}
		seen[u] = true
		sum += u
	}
	if m := sum / n; math.Abs(m-0.5) > 4*math.Sqrt(1.0/12/n) {
		t.Errorf("mean %v", m)
	}
	if draw(b, streamHit, 7) == draw(b, streamRestore, 7) || draw(b, streamHit, 7) == draw(trialBase(1, 1), streamHit, 7) {
		t.Error("streams or trials share draws")
	}
	if draw(b, streamHit, 7) != draw(trialBase(1, 0), streamHit, 7) {
		t.Error("draws not stable")
	}
}
