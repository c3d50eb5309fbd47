// Package risk is the risk register's meaning: the 5×5 heat map, the
// service over the store (threats checked against ATT&CK, expired
// acceptances re-opened), and quantitative analysis — a Monte Carlo
// simulation of annual loss, FAIR-style, per risk and for the city, with
// loss exceedance curves.
package risk

import (
	"math"
	"math/rand/v2"
	"slices"

	"bulwark"
)

// Quantitative analysis: each trial is one simulated year. For each risk
// with a quantitative estimate, the year's event rate is drawn from the
// PERT distribution of its frequency range, the number of events from a
// Poisson distribution with that rate, and each event's loss from the
// PERT distribution of its loss range. A risk's annual loss is the sum;
// the city's is the sum over risks.

// pertLambda is the weight of the most likely value in the PERT
// distribution (the classic 4: mean = (min + 4·mode + max) / 6).
const pertLambda = 4

// PERT draws from the Beta-PERT distribution of r.
func PERT(rng *rand.Rand, r bulwark.Range) float64 {
	span := r.Max - r.Min
	if span <= 0 {
		return r.Min
	}
	a := 1 + pertLambda*(r.MostLikely-r.Min)/span
	b := 1 + pertLambda*(r.Max-r.MostLikely)/span
	x := gamma(rng, a)
	y := gamma(rng, b)
	return r.Min + span*x/(x+y)
}

// PERTMean is the mean of the Beta-PERT distribution of r.
func PERTMean(r bulwark.Range) float64 {
	return (r.Min + pertLambda*r.MostLikely + r.Max) / (pertLambda + 2)
}

// gamma draws from Gamma(shape, 1) by Marsaglia and Tsang's method (shape
// ≥ 1 here: PERT shapes are at least 1).
func gamma(rng *rand.Rand, shape float64) float64 {
	d := shape - 1.0/3
	c := 1 / math.Sqrt(9*d)
	for {
		x := rng.NormFloat64()
		v := 1 + c*x
		if v <= 0 {
			continue
		}
		v = v * v * v
		u := rng.Float64()
		if u < 1-0.0331*x*x*x*x || math.Log(u) < 0.5*x*x+d*(1-v+math.Log(v)) {
			return d * v
		}
	}
}

// poisson draws the number of events of a year with rate lambda: by
// multiplication of uniforms for small rates, by a rounded normal
// approximation above 500 events a year (far beyond any risk register's
// range, where the approximation's error is below a tenth of a percent).
func poisson(rng *rand.Rand, lambda float64) int {
	switch {
	case lambda <= 0:
		return 0
	case lambda > 500:
		return max(0, int(math.Round(lambda+math.Sqrt(lambda)*rng.NormFloat64())))
	}
	// Split large rates so that exp(-lambda) does not underflow.
	n := 0
	for lambda > 30 {
		n += poisson(rng, 30)
		lambda -= 30
	}
	limit, p := math.Exp(-lambda), rng.Float64()
	for p > limit {
		n++
		p *= rng.Float64()
	}
	return n
}

// Distribution summarizes simulated annual losses.
type Distribution struct {
	Trials int     `json:"trials"`
	Mean   float64 `json:"mean"`
	// MeanLow and MeanHigh are the 95 % confidence interval of the mean
	// (normal approximation: mean ± 1.96 · sd / √n).
	MeanLow  float64 `json:"mean_low"`
	MeanHigh float64 `json:"mean_high"`
	P50      float64 `json:"p50"`
	P90      float64 `json:"p90"`
	P99      float64 `json:"p99"`
	Max      float64 `json:"max"`
	// PZero is the share of years without loss.
	PZero float64 `json:"p_zero"`
	// Exceedance is the loss exceedance curve: the probability that a
	// year's loss reaches each loss level.
	Exceedance []ExceedancePoint `json:"exceedance"`
}

// ExceedancePoint is one point of a loss exceedance curve.
type ExceedancePoint struct {
	Loss        float64 `json:"loss"`
	Probability float64 `json:"probability"`
}

// summarize sorts losses in place and describes them.
func summarize(losses []float64) Distribution {
	n := len(losses)
	d := Distribution{Trials: n}
	if n == 0 {
		return d
	}
	var sum, sq float64
	zero := 0
	for _, x := range losses {
		sum += x
		sq += x * x
		if x == 0 {
			zero++
		}
	}
	d.Mean = sum / float64(n)
	if n > 1 {
		sd := math.Sqrt(max(0, (sq-float64(n)*d.Mean*d.Mean)/float64(n-1)))
		half := 1.96 * sd / math.Sqrt(float64(n))
		d.MeanLow, d.MeanHigh = max(0, d.Mean-half), d.Mean+half
	} else {
		d.MeanLow, d.MeanHigh = d.Mean, d.Mean
	}
	slices.Sort(losses)
	q := func(p float64) float64 { return losses[min(n-1, int(math.Ceil(p*float64(n)))-1)] }
	d.P50, d.P90, d.P99, d.Max = q(0.5), q(0.9), q(0.99), losses[n-1]
	d.PZero = float64(zero) / float64(n)
	d.Exceedance = exceedance(losses)
	return d
}

// exceedance samples the curve at 40 loss levels spaced evenly on a log
// scale from the smallest positive loss to the largest (sorted input).
func exceedance(sorted []float64) []ExceedancePoint {
	n := len(sorted)
	i := sort0(sorted)
	if i == n {
		return []ExceedancePoint{}
	}
	lo, hi := sorted[i], sorted[n-1]
	const points = 40
	var out []ExceedancePoint
	for k := 0; k < points; k++ {
		level := lo
		if hi > lo {
			level = lo * math.Pow(hi/lo, float64(k)/(points-1))
		}
		// Years with a loss at or above level.
		j, _ := slices.BinarySearchFunc(sorted, level, func(x, t float64) int {
			if x < t {
				return -1
			}
			return 1
		})
		out = append(out, ExceedancePoint{Loss: level, Probability: float64(n-j) / float64(n)})
	}
	return out
}

// sort0 returns the index of the first positive loss of sorted.
func sort0(sorted []float64) int {
	i, _ := slices.BinarySearchFunc(sorted, 0.0, func(x, t float64) int {
		if x <= t {
			return -1
		}
		return 1
	})
	return i
}

// Analysis is the result of Analyze.
type Analysis struct {
	Trials int                     `json:"trials"`
	Seed   uint64                  `json:"seed"`
	City   Distribution            `json:"city"`
	Risks  map[string]Distribution `json:"risks"`
	// Skipped lists risks without a quantitative estimate.
	Skipped []string `json:"skipped,omitempty"`
}

// MaxTrials caps one analysis.
const MaxTrials = 1_000_000

// Analyze simulates trials years of the quantified risks. Every trial
// draws from its own generator, seeded by (seed, trial), and the risks in
// the order given, so the same seed and risks give the same result.
func Analyze(risks []bulwark.Risk, trials int, seed uint64) (*Analysis, error) {
	if trials < 1 || trials > MaxTrials {
		return nil, bulwark.Errorf(bulwark.EINVALID, "trials must be between 1 and %d", MaxTrials)
	}
	var quant []bulwark.Risk
	a := &Analysis{Trials: trials, Seed: seed, Risks: map[string]Distribution{}}
	for _, r := range risks {
		if r.Frequency.IsZero() || r.Loss.IsZero() {
			a.Skipped = append(a.Skipped, r.ID)
			continue
		}
		quant = append(quant, r)
	}
	per := make([][]float64, len(quant))
	for i := range per {
		per[i] = make([]float64, trials)
	}
	city := make([]float64, trials)
	for t := 0; t < trials; t++ {
		rng := rand.New(rand.NewPCG(seed, uint64(t)))
		for i, r := range quant {
			var loss float64
			for range poisson(rng, PERT(rng, r.Frequency)) {
				loss += PERT(rng, r.Loss)
			}
			per[i][t] = loss
			city[t] += loss
		}
	}
	for i, r := range quant {
		a.Risks[r.ID] = summarize(per[i])
	}
	a.City = summarize(city)
	return a, nil
}
