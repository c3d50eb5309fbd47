package sim

import (
	"cmp"
	"context"
	"math"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"bulwark"
)

// Options control a Monte Carlo run.
type Options struct {
	Trials  int    `json:"trials" yaml:"trials"`
	Seed    uint64 `json:"seed" yaml:"seed"`
	Workers int    `json:"workers,omitempty" yaml:"workers,omitempty"` // 0: GOMAXPROCS
	// Epsilon, when positive, stops early once every reported interval is
	// narrower: each probability's 95% half-width ≤ Epsilon and expected
	// person-hours' half-width ≤ Epsilon × its mean. Checked every Round
	// trials (default 1,000), so where it stops depends on the seed only.
	Epsilon float64 `json:"epsilon,omitempty" yaml:"epsilon,omitempty"`
	Round   int     `json:"round,omitempty" yaml:"round,omitempty"`
	Top     int     `json:"top,omitempty" yaml:"top,omitempty"` // contributors listed (default 10)
	// Progress, when set, is called after each round with the trials done.
	Progress func(done, total int) `json:"-" yaml:"-"`
	// Draws, when set, receives every trial's draws in trial order (a
	// neutral draws file; early stopping is refused). Outcomes, when set,
	// receives every trial's outcome in trial order.
	Draws    *DrawsWriter   `json:"-" yaml:"-"`
	Outcomes *OutcomeWriter `json:"-" yaml:"-"`
}

// maxTrials bounds one run, maxSamples the downtimes it keeps (8 bytes
// each: 1 GiB).
const (
	maxTrials  = 100_000_000
	maxSamples = 1 << 27
)

// Interval is an estimate with its 95% confidence interval.
type Interval struct {
	Estimate float64 `json:"estimate"`
	Low      float64 `json:"low"`
	High     float64 `json:"high"`
}

// HalfWidth is half the interval's width.
func (i Interval) HalfWidth() float64 { return (i.High - i.Low) / 2 }

// ServiceResult is one service's downtime distribution and the
// probability that its targets hold.
type ServiceResult struct {
	ID       string  `json:"id"`
	Critical bool    `json:"critical"`
	MeanDown float64 `json:"mean_down_h"`
	P50      float64 `json:"p50_h"`
	P90      float64 `json:"p90_h"`
	P99      float64 `json:"p99_h"`
	PDown    float64 `json:"p_down"` // probability of any downtime
	// RTOHeld and MTDHeld are the probabilities that the longest outage
	// stays within the RTO and the maximum tolerable downtime (nil when
	// the service has no such target).
	RTOHeld *Interval `json:"rto_held,omitempty"`
	MTDHeld *Interval `json:"mtd_held,omitempty"`
}

// Contributor is a directly hit node and the loss attributed to it.
type Contributor struct {
	ID string `json:"id"`
	// Loss is the expected person-hours per trial whose outage ended when
	// this node's restoration finished (see docs/simulation.md).
	Loss  float64 `json:"loss_person_h"`
	Share float64 `json:"share"` // of the expected loss
}

// Result is the outcome of a Monte Carlo run.
type Result struct {
	Trials   int             `json:"trials"`
	Seed     uint64          `json:"seed"`
	Stopped  bool            `json:"stopped_early"`
	Services []ServiceResult `json:"services"`
	Goal     *Interval       `json:"goal,omitempty"` // P(goal holds), nil without a goal
	// Loss is the expected person-hours of lost service per trial: the
	// sum over services of population × hours down.
	Loss Interval      `json:"loss_person_h"`
	Top  []Contributor `json:"top"`
	// MeanFailed is the mean number of node failures per trial.
	MeanFailed float64 `json:"mean_failed"`

	losses []float64 // per trial, for paired comparisons
}

// Run simulates opt.Trials trials of s on m. Trial i draws from (seed, i)
// only and results are combined in trial order, so the Result is the same
// bit for bit whatever the number of workers.
func Run(ctx context.Context, m *Model, s *Scenario, opt Options) (*Result, error) {
	c, err := m.compile(s, nil, nil)
	if err != nil {
		return nil, err
	}
	return m.run(ctx, c, opt)
}

func (m *Model) run(ctx context.Context, c *compiled, opt Options) (*Result, error) {
	return m.runFrom(ctx, c, opt, nil)
}

// drawsBatch is how many trials' draws are held in memory at once when
// they are recorded or replayed.
const drawsBatch = 128

// runFrom runs the trials, drawing them or, with src, replaying them.
func (m *Model) runFrom(ctx context.Context, c *compiled, opt Options, src *DrawsReader) (*Result, error) {
	if opt.Draws != nil && opt.Epsilon > 0 {
		return nil, bulwark.Errorf(bulwark.EINVALID, "simulation: early stopping (epsilon) cannot be used while recording draws")
	}
	if opt.Trials < 1 || opt.Trials > maxTrials {
		return nil, bulwark.Errorf(bulwark.EINVALID, "simulation: trials %d must be within 1..%d", opt.Trials, maxTrials)
	}
	if opt.Epsilon < 0 || math.IsNaN(opt.Epsilon) {
		return nil, bulwark.Errorf(bulwark.EINVALID, "simulation: epsilon %g must not be negative", opt.Epsilon)
	}
	// Quantiles need every trial's downtime of every service.
	if ns := len(m.svc); ns > 0 && opt.Trials > maxSamples/ns {
		return nil, bulwark.Errorf(bulwark.ETOOLARGE, "simulation: %d trials × %d services exceed %d stored downtimes; run fewer trials",
			opt.Trials, ns, maxSamples)
	}
	workers := opt.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	round := opt.Round
	if round <= 0 {
		round = 1000
	}
	if opt.Epsilon == 0 && opt.Progress == nil {
		round = opt.Trials
	}
	top := opt.Top
	if top <= 0 {
		top = 10
	}
	ns := len(m.svc)
	agg := newAggregate(m, c, opt.Trials)
	pool := make([]*worker, workers)
	res := &Result{Seed: opt.Seed}
	var draws []TrialDraws
	done := 0
	for done < opt.Trials {
		end := min(done+round, opt.Trials)
		// Trials of this round go to workers in blocks; each trial writes
		// only its own slot.
		outs := make([]trialResult, end-done)
		for i := range outs {
			outs[i].down = agg.down[(done+i)*ns : (done+i+1)*ns]
			outs[i].maxOut = make([]float64, ns)
		}
		// Recorded or replayed draws are held a batch at a time.
		batch := end - done
		if src != nil || opt.Draws != nil {
			batch = min(batch, drawsBatch)
			if draws == nil {
				draws = make([]TrialDraws, drawsBatch)
			}
		}
		for lo := done; lo < end; lo += batch {
			hi := min(lo+batch, end)
			if src != nil {
				for i := lo; i < hi; i++ {
					if err := src.Next(&draws[i-lo]); err != nil {
						return nil, err
					}
				}
			}
			var next atomic.Int64
			next.Store(int64(lo))
			var wg sync.WaitGroup
			for wi := range workers {
				if pool[wi] == nil {
					pool[wi] = newWorker(m, c, opt.Seed)
				}
				w := pool[wi]
				wg.Add(1)
				go func() {
					defer wg.Done()
					const block = 16
					for ctx.Err() == nil {
						b := int(next.Add(block)) - block
						if b >= hi {
							return
						}
						for i := b; i < min(b+block, hi); i++ {
							switch {
							case src != nil:
								w.replay = &draws[i-lo]
							case opt.Draws != nil:
								w.rec = &draws[i-lo]
								w.rec.reset(i)
							}
							w.run(i, &outs[i-done])
						}
					}
				}()
			}
			wg.Wait()
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			if opt.Draws != nil {
				for i := lo; i < hi; i++ {
					draws[i-lo].sortEvents()
					if err := opt.Draws.Write(&draws[i-lo]); err != nil {
						return nil, err
					}
				}
			}
		}
		for i := range outs {
			if opt.Outcomes != nil {
				if err := opt.Outcomes.write(done+i, &outs[i]); err != nil {
					return nil, err
				}
			}
			agg.add(done+i, &outs[i])
		}
		done = end
		if opt.Progress != nil {
			opt.Progress(done, opt.Trials)
		}
		if opt.Epsilon > 0 && done < opt.Trials && agg.narrow(done, opt.Epsilon) {
			res.Stopped = true
			break
		}
	}
	agg.finish(res, done, top)
	return res, nil
}

// aggregate accumulates trial results in trial order.
type aggregate struct {
	m       *Model
	c       *compiled
	down    []float64 // trial*ns + s
	rtoOK   []int     // per service: trials where the RTO held
	mtdOK   []int
	goalOK  int
	losses  []float64
	lossSum float64
	lossSq  float64
	failed  float64
	attr    map[int32]float64
}

func newAggregate(m *Model, c *compiled, trials int) *aggregate {
	ns := len(m.svc)
	return &aggregate{
		m: m, c: c,
		down:  make([]float64, trials*ns),
		rtoOK: make([]int, ns), mtdOK: make([]int, ns),
		losses: make([]float64, 0, trials),
		attr:   map[int32]float64{},
	}
}

func (a *aggregate) add(trial int, r *trialResult) {
	m := a.m
	for s := range m.svc {
		if r.maxOut[s] <= m.svcRTO[s] {
			a.rtoOK[s]++
		}
		if r.maxOut[s] <= m.svcMTD[s] {
			a.mtdOK[s]++
		}
	}
	if r.goal {
		a.goalOK++
	}
	a.losses = append(a.losses, r.loss)
	a.lossSum += r.loss
	a.lossSq += r.loss * r.loss
	a.failed += float64(r.failed)
	for _, at := range r.attr {
		a.attr[at.x] += at.loss
	}
}

// narrow reports whether every interval is within eps after n trials.
func (a *aggregate) narrow(n int, eps float64) bool {
	m := a.m
	for s := range m.svc {
		if m.svcRTO[s] > 0 && Wilson(a.rtoOK[s], n).HalfWidth() > eps {
			return false
		}
		if m.svcMTD[s] > 0 && Wilson(a.mtdOK[s], n).HalfWidth() > eps {
			return false
		}
	}
	if a.c.goal != (Goal{}) && Wilson(a.goalOK, n).HalfWidth() > eps {
		return false
	}
	l := MeanCI(a.lossSum, a.lossSq, n)
	return l.HalfWidth() <= eps*math.Abs(l.Estimate)
}

func (a *aggregate) finish(res *Result, n, top int) {
	m := a.m
	ns := len(m.svc)
	res.Trials = n
	col := make([]float64, n)
	for s, x := range m.svc {
		sr := ServiceResult{ID: m.g.ID(x), Critical: m.critical[s]}
		sum, hits := 0.0, 0
		for i := range n {
			v := a.down[i*ns+s]
			col[i] = v
			sum += v
			if v > 0 {
				hits++
			}
		}
		sr.MeanDown = sum / float64(n)
		sr.PDown = float64(hits) / float64(n)
		slices.Sort(col)
		sr.P50, sr.P90, sr.P99 = quantile(col, 0.5), quantile(col, 0.9), quantile(col, 0.99)
		if m.svcRTO[s] > 0 {
			w := Wilson(a.rtoOK[s], n)
			sr.RTOHeld = &w
		}
		if m.svcMTD[s] > 0 {
			w := Wilson(a.mtdOK[s], n)
			sr.MTDHeld = &w
		}
		res.Services = append(res.Services, sr)
	}
	if a.c.goal != (Goal{}) {
		w := Wilson(a.goalOK, n)
		res.Goal = &w
	}
	res.Loss = MeanCI(a.lossSum, a.lossSq, n)
	res.MeanFailed = a.failed / float64(n)
	res.losses = a.losses
	type kv struct {
		x int32
		v float64
	}
	list := make([]kv, 0, len(a.attr))
	for x, v := range a.attr {
		list = append(list, kv{x, v})
	}
	slices.SortFunc(list, func(p, q kv) int { return cmp.Or(cmp.Compare(q.v, p.v), cmp.Compare(p.x, q.x)) })
	total := a.lossSum
	for _, e := range list[:min(top, len(list))] {
		c := Contributor{ID: m.g.ID(e.x), Loss: e.v / float64(n)}
		if total > 0 {
			c.Share = e.v / total
		}
		res.Top = append(res.Top, c)
	}
}

// quantile is the nearest-rank quantile of sorted values: the smallest
// value with at least q of the values at or below it.
func quantile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	k := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[min(max(k, 0), len(sorted)-1)]
}

// z95 is the standard normal quantile for a two-sided 95% interval.
const z95 = 1.959963984540054

// Wilson is the Wilson score 95% interval for k successes in n trials.
func Wilson(k, n int) Interval {
	if n == 0 {
		return Interval{Estimate: math.NaN(), Low: 0, High: 1}
	}
	p := float64(k) / float64(n)
	nn := float64(n)
	z2 := z95 * z95
	den := 1 + z2/nn
	center := (p + z2/(2*nn)) / den
	half := z95 * math.Sqrt(p*(1-p)/nn+z2/(4*nn*nn)) / den
	return Interval{Estimate: p, Low: max(0, center-half), High: min(1, center+half)}
}

// MeanCI is the normal-approximation 95% interval of a mean from the sum
// and sum of squares of n samples.
func MeanCI(sum, sumSq float64, n int) Interval {
	if n == 0 {
		return Interval{Estimate: math.NaN(), Low: math.NaN(), High: math.NaN()}
	}
	nn := float64(n)
	mean := sum / nn
	half := 0.0
	if n > 1 {
		v := max(0, (sumSq-nn*mean*mean)/(nn-1))
		half = z95 * math.Sqrt(v/nn)
	}
	return Interval{Estimate: mean, Low: mean - half, High: mean + half}
}

// TraceTrial runs trial number trial of s with seed and records its events.
func TraceTrial(m *Model, s *Scenario, seed uint64, trial int) (*Trace, *TrialOutcome, error) {
	c, err := m.compile(s, nil, nil)
	if err != nil {
		return nil, nil, err
	}
	if trial < 0 {
		return nil, nil, bulwark.Errorf(bulwark.EINVALID, "simulation: negative trial %d", trial)
	}
	return newWorker(m, c, seed).traceRun(trial)
}

// traceRun runs one trial recording its trace.
func (w *worker) traceRun(trial int) (*Trace, *TrialOutcome, error) {
	m := w.m
	tr := &Trace{Trial: trial}
	w.trace = tr
	w.notify = make([]uint64, len(m.notify))
	for i := range w.notify {
		w.notify[i] = ^uint64(0)
	}
	ns := len(m.svc)
	out := trialResult{down: make([]float64, ns), maxOut: make([]float64, ns)}
	w.run(trial, &out)
	o := &TrialOutcome{Loss: out.loss, Goal: out.goal, Down: map[string]float64{}, MaxOutage: map[string]float64{}}
	for s, x := range m.svc {
		if out.down[s] > 0 {
			o.Down[m.g.ID(x)] = out.down[s]
			o.MaxOutage[m.g.ID(x)] = out.maxOut[s]
		}
	}
	return tr, o, nil
}

// TrialOutcome is one trial's result: hours down and the longest outage of
// every service that was down, person-hours lost, and whether the goal held.
type TrialOutcome struct {
	Down      map[string]float64 `json:"down_h"`
	MaxOutage map[string]float64 `json:"max_outage_h"`
	Loss      float64            `json:"loss_person_h"`
	Goal      bool               `json:"goal"`
}
