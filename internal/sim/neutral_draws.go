package sim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"

	"bulwark"
)

// TrialDraws is everything one trial drew: the scenario events that struck
// within the horizon, in event order, each with its start, its duration
// (events that restore themselves) and the nodes it hit, in ID order, with
// each hit's restore time (crew events). Replaying them reproduces the
// trial exactly.
type TrialDraws struct {
	Trial  int
	Events []EventDraws
}

// EventDraws is one event's draws in a trial.
type EventDraws struct {
	Event    int     // index in the scenario
	Start    float64 // hours
	External bool    // restores itself after Duration (no crew)
	Duration float64 // hours, external events only
	Hits     []HitDraw
}

// HitDraw is a node hit by an event and, for crew events, the time its
// restoration takes once a crew starts.
type HitDraw struct {
	Node    int32 // dense id
	Restore float64
}

// maxHitsPerTrial bounds one trial of a draws file (16 bytes each in
// memory): a hostile file cannot make a reader hold more.
const maxHitsPerTrial = 1 << 24

func (d *TrialDraws) reset(trial int) {
	d.Trial = trial
	d.Events = d.Events[:0]
}

// add appends an event, reusing the memory of earlier trials.
func (d *TrialDraws) add(event int, start float64, external bool, dur float64) *EventDraws {
	n := len(d.Events)
	if n < cap(d.Events) {
		d.Events = d.Events[:n+1]
	} else {
		d.Events = append(d.Events, EventDraws{})
	}
	e := &d.Events[n]
	*e = EventDraws{Event: event, Start: start, External: external, Duration: dur, Hits: e.Hits[:0]}
	return e
}

// sortEvents puts recorded events (recorded as they fired, in time order)
// in scenario order, the order of the file and of the event queue.
func (d *TrialDraws) sortEvents() {
	slices.SortFunc(d.Events, func(a, b EventDraws) int { return a.Event - b.Event })
}

// DrawsHeader is what a draws file says before its trials.
type DrawsHeader struct {
	Name    string
	Nodes   int // nodes of the graph the draws are for
	Horizon float64
	Goal    Goal
	Seed    uint64 // the seed the draws were made with (informational)
	Trials  int
	Events  []DrawsEvent
}

// DrawsEvent is a scenario event as a draws file declares it.
type DrawsEvent struct {
	Name     string
	External bool // restores itself: hits have no restore time
}

// DrawsWriter writes a draws file: NewDrawsWriter writes the header, Write
// each trial in order, Close the end line. Give it to Options.Draws to
// record a run's draws.
type DrawsWriter struct {
	t       *tsvWriter
	m       *Model
	trials  int
	written int
}

// NewDrawsWriter starts a draws file for trials trials of s on m with seed.
func NewDrawsWriter(w io.Writer, m *Model, s *Scenario, seed uint64, trials int) *DrawsWriter {
	t := newTSVWriter(w)
	t.rec(drawsMagic, neutralV)
	t.rec("name", escapeField(s.Name))
	t.rec("nodes", strconv.Itoa(m.n))
	t.rec("horizon", fmtFloat(s.Horizon))
	t.rec("goal", fmtFloat(s.Goal.Share), fmtFloat(s.Goal.Within))
	t.rec("seed", strconv.FormatUint(seed, 10))
	t.rec("trials", strconv.Itoa(trials))
	for i, ev := range s.Events {
		kind := "crew"
		if ev.Duration != nil {
			kind = "self"
		}
		t.rec("event", strconv.Itoa(i), escapeField(ev.Name), kind)
	}
	return &DrawsWriter{t: t, m: m, trials: trials}
}

// Write appends one trial; trials must come in order from 0.
func (d *DrawsWriter) Write(td *TrialDraws) error {
	if td.Trial != d.written {
		return bulwark.Errorf(bulwark.EINVALID, "draws: trial %d written after %d trials", td.Trial, d.written)
	}
	d.written++
	t, g := d.t, d.m.g
	t.rec("trial", strconv.Itoa(td.Trial))
	for i := range td.Events {
		ev := &td.Events[i]
		if ev.External {
			t.rec("start", strconv.Itoa(ev.Event), fmtFloat(ev.Start), fmtFloat(ev.Duration))
			for _, h := range ev.Hits {
				t.rec("hit", g.ID(h.Node))
			}
			continue
		}
		t.rec("start", strconv.Itoa(ev.Event), fmtFloat(ev.Start))
		for _, h := range ev.Hits {
			t.rec("hit", g.ID(h.Node), fmtFloat(h.Restore))
		}
	}
	return t.err
}

// Close writes the end line and flushes. Fewer trials than announced is
// an error (the file says so too: readers refuse it).
func (d *DrawsWriter) Close() error {
	d.t.rec("end")
	if err := d.t.flush(); err != nil {
		return err
	}
	if d.written != d.trials {
		return bulwark.Errorf(bulwark.EINVALID, "draws: %d of %d trials written", d.written, d.trials)
	}
	return nil
}

// DrawsReader reads a draws file trial by trial; nodes are resolved
// against the graph of the model they will run on.
type DrawsReader struct {
	Header DrawsHeader
	l      *lineReader
	m      *Model
	next   int // next trial expected
}

// NewDrawsReader reads the header of a draws file for m. Mistakes are
// EINVALID errors naming the file and line.
func NewDrawsReader(r io.Reader, name string, m *Model) (*DrawsReader, error) {
	l := newLineReader(r, name)
	if err := l.header(drawsMagic); err != nil {
		return nil, err
	}
	d := &DrawsReader{l: l, m: m}
	h := &d.Header
	field := func(key string, n int, layout string) ([]string, error) {
		f, err := l.next()
		if errors.Is(err, io.EOF) {
			return nil, l.truncated("its " + key + " line")
		}
		if err != nil {
			return nil, err
		}
		if f[0] != key {
			return nil, l.errf("expected the %s line, got %q (the header is name, nodes, horizon, goal, seed, trials, event...)", key, bulwark.Abbrev(f[0], 64))
		}
		return f, l.want(f, n, layout)
	}
	f, err := field("name", 2, "name NAME")
	if err != nil {
		return nil, err
	}
	h.Name = f[1]
	if f, err = field("nodes", 2, "nodes COUNT"); err != nil {
		return nil, err
	}
	n, err := l.integer(f[1], "nodes", 0, math.MaxInt32)
	if err != nil {
		return nil, err
	}
	if int(n) != m.n {
		return nil, l.errf("the draws are for a graph of %d nodes; this one has %d", n, m.n)
	}
	h.Nodes = int(n)
	if f, err = field("horizon", 2, "horizon HOURS"); err != nil {
		return nil, err
	}
	if h.Horizon, err = l.float(f[1], "horizon"); err != nil {
		return nil, err
	}
	if !(h.Horizon > 0 && h.Horizon <= maxHorizon) {
		return nil, l.errf("horizon %g h must be positive and at most %d h", h.Horizon, maxHorizon)
	}
	if f, err = field("goal", 3, "goal SHARE WITHIN_H"); err != nil {
		return nil, err
	}
	if h.Goal.Share, err = l.float(f[1], "goal share"); err != nil {
		return nil, err
	}
	if h.Goal.Within, err = l.float(f[2], "goal hours"); err != nil {
		return nil, err
	}
	if h.Goal.Share > 1 || h.Goal.Within > h.Horizon {
		return nil, l.errf("goal share must be within 0..1 and its hours within the horizon")
	}
	if f, err = field("seed", 2, "seed SEED"); err != nil {
		return nil, err
	}
	if h.Seed, err = strconv.ParseUint(f[1], 10, 64); err != nil {
		return nil, l.errf("seed %q is not an unsigned 64-bit integer", bulwark.Abbrev(f[1], 64))
	}
	if f, err = field("trials", 2, "trials COUNT"); err != nil {
		return nil, err
	}
	t, err := l.integer(f[1], "trials", 0, maxTrials)
	if err != nil {
		return nil, err
	}
	h.Trials = int(t)
	for {
		f, err := l.next()
		if errors.Is(err, io.EOF) {
			return nil, l.truncated("its end line")
		}
		if err != nil {
			return nil, err
		}
		if f[0] != "event" {
			l.unread()
			return d, nil
		}
		if err := l.want(f, 4, "event INDEX NAME crew|self"); err != nil {
			return nil, err
		}
		if len(h.Events) >= 1<<20 {
			return nil, l.errf("more than %d events", 1<<20)
		}
		if f[1] != strconv.Itoa(len(h.Events)) {
			return nil, l.errf("event index %q: events are numbered 0, 1, 2... in order; expected %d", bulwark.Abbrev(f[1], 64), len(h.Events))
		}
		ev := DrawsEvent{Name: f[2]}
		switch f[3] {
		case "crew":
		case "self":
			ev.External = true
		default:
			return nil, l.errf("event %s: %q must be crew (restored by crews) or self (comes back by itself)", f[1], bulwark.Abbrev(f[3], 64))
		}
		h.Events = append(h.Events, ev)
	}
}

// Next reads the next trial into td (reusing its memory); io.EOF after the
// last one, once the end line has been checked.
func (d *DrawsReader) Next(td *TrialDraws) error {
	l, h, g := d.l, &d.Header, d.m.g
	f, err := l.next()
	if errors.Is(err, io.EOF) {
		return l.truncated("its end line")
	}
	if err != nil {
		return err
	}
	if f[0] == "end" {
		if err := l.want(f, 1, "end"); err != nil {
			return err
		}
		if d.next != h.Trials {
			return l.errf("the file has %d trials; its header says %d", d.next, h.Trials)
		}
		if err := l.end(); err != nil {
			return err
		}
		return io.EOF
	}
	if f[0] != "trial" {
		return l.errf("expected a trial or the end line, got %q", bulwark.Abbrev(f[0], 64))
	}
	if err := l.want(f, 2, "trial INDEX"); err != nil {
		return err
	}
	if d.next >= h.Trials {
		return l.errf("more trials than the %d the header announces", h.Trials)
	}
	if f[1] != strconv.Itoa(d.next) {
		return l.errf("trial %q: trials are numbered 0, 1, 2... in order; expected %d", bulwark.Abbrev(f[1], 64), d.next)
	}
	td.reset(d.next)
	var cur *EventDraws
	last, lastHit, hits := -1, int32(-1), 0
	for {
		f, err := l.next()
		if errors.Is(err, io.EOF) {
			return l.truncated("its end line")
		}
		if err != nil {
			return err
		}
		switch f[0] {
		case "trial", "end":
			l.unread()
			d.next++
			return nil
		case "start":
			if len(f) < 3 {
				return l.errf("start record needs the event index and start time")
			}
			k, err := l.integer(f[1], "event index", 0, int64(len(h.Events))-1)
			if err != nil {
				return err
			}
			if int(k) <= last {
				return l.errf("event %d after event %d: a trial's events come in index order, each once", k, last)
			}
			last = int(k)
			t, err := l.float(f[2], "start")
			if err != nil {
				return err
			}
			if t > h.Horizon {
				return l.errf("start %g h is past the horizon (%g h): such events are not recorded", t, h.Horizon)
			}
			var dur float64
			if ext := h.Events[k].External; ext {
				if err := l.want(f, 4, "start EVENT T DURATION for an event that comes back by itself"); err != nil {
					return err
				}
				if dur, err = l.float(f[3], "duration"); err != nil {
					return err
				}
			} else if err := l.want(f, 3, "start EVENT T for an event restored by crews"); err != nil {
				return err
			}
			cur = td.add(int(k), t, h.Events[k].External, dur)
			lastHit = -1
		case "hit":
			if cur == nil {
				return l.errf("hit record before the trial's first start record")
			}
			if hits++; hits > maxHitsPerTrial {
				return l.errf("more than %d hits in one trial", maxHitsPerTrial)
			}
			if len(f) < 2 {
				return l.errf("hit record needs a node")
			}
			x, ok := g.Lookup(f[1])
			if !ok {
				return l.errf("hit of unknown node %q", bulwark.Abbrev(f[1], 64))
			}
			if x <= lastHit {
				return l.errf("hit of %q after %q: an event's hits come in increasing ID order, each once", f[1], g.ID(lastHit))
			}
			lastHit = x
			var rt float64
			if cur.External {
				if err := l.want(f, 2, "hit NODE, for an event that comes back by itself"); err != nil {
					return err
				}
				rt = cur.Duration
			} else {
				if err := l.want(f, 3, "hit NODE RESTORE_H"); err != nil {
					return err
				}
				if rt, err = l.float(f[2], "restore time"); err != nil {
					return err
				}
			}
			cur.Hits = append(cur.Hits, HitDraw{Node: x, Restore: rt})
		default:
			return l.errf("unknown record %q in a trial (want start or hit)", bulwark.Abbrev(f[0], 64))
		}
	}
}

// Scenario is the scenario as far as the draws file tells it: name,
// horizon, goal and event names (no nodes: the draws say what was hit).
func (d *DrawsReader) Scenario() *Scenario {
	h := &d.Header
	s := &Scenario{Name: h.Name, Horizon: h.Horizon, Goal: h.Goal}
	for _, ev := range h.Events {
		e := Event{Name: ev.Name}
		if ev.External {
			e.Duration = &Dist{}
		}
		s.Events = append(s.Events, e)
	}
	return s
}

// compiled is the scenario a replay runs: its events have no nodes and
// draw nothing.
func (d *DrawsReader) compiled() *compiled {
	h := &d.Header
	c := &compiled{horizon: h.Horizon, goal: h.Goal, events: make([]cevent, len(h.Events))}
	for i, ev := range h.Events {
		c.events[i] = cevent{external: ev.External, idx: int32(i)}
	}
	return c
}

// CheckScenario reports whether s is the scenario the draws were made
// for, as far as the header tells: horizon, goal, event names and kinds.
func (d *DrawsReader) CheckScenario(s *Scenario) error {
	h := &d.Header
	bad := func(format string, args ...any) error {
		return bulwark.Errorf(bulwark.EINVALID, "%s: not the scenario of the draws: %s", d.l.name, fmt.Sprintf(format, args...))
	}
	if s.Horizon != h.Horizon || s.Goal != h.Goal {
		return bad("horizon %g h and goal %+v, the draws' %g h and %+v", s.Horizon, s.Goal, h.Horizon, h.Goal)
	}
	if len(s.Events) != len(h.Events) {
		return bad("%d events, the draws' %d", len(s.Events), len(h.Events))
	}
	for i, ev := range s.Events {
		if ev.Name != h.Events[i].Name || (ev.Duration != nil) != h.Events[i].External {
			return bad("event %d is %q (comes back by itself: %t), the draws' %q (%t)", i, ev.Name, ev.Duration != nil, h.Events[i].Name, h.Events[i].External)
		}
	}
	return nil
}

// RunDraws runs the trials of a draws file on m instead of drawing them:
// opt.Trials of them (0: all that are left). The seed is the file's, so a
// file recorded from Run replays to the same Result bit for bit.
func RunDraws(ctx context.Context, m *Model, d *DrawsReader, opt Options) (*Result, error) {
	if d.m != m {
		return nil, bulwark.Errorf(bulwark.EINVALID, "draws: read for another model")
	}
	left := d.Header.Trials - d.next
	if opt.Trials == 0 {
		opt.Trials = left
	}
	if opt.Trials > left {
		return nil, bulwark.Errorf(bulwark.EINVALID, "draws: %d trials asked, the file has %d", opt.Trials, left)
	}
	if opt.Draws != nil {
		return nil, bulwark.Errorf(bulwark.EINVALID, "draws: a replay does not record draws")
	}
	opt.Seed = d.Header.Seed
	return m.runFrom(ctx, d.compiled(), opt, d)
}

// TraceDraws replays trial number trial of a draws file (skipping the ones
// before it) and records its events, as TraceTrial does.
func TraceDraws(m *Model, d *DrawsReader, trial int) (*Trace, *TrialOutcome, error) {
	if d.m != m {
		return nil, nil, bulwark.Errorf(bulwark.EINVALID, "draws: read for another model")
	}
	if trial < d.next || trial >= d.Header.Trials {
		return nil, nil, bulwark.Errorf(bulwark.EINVALID, "draws: no trial %d (the file has trials 0..%d)", trial, d.Header.Trials-1)
	}
	var td TrialDraws
	for {
		if err := d.Next(&td); err != nil {
			return nil, nil, err
		}
		if td.Trial == trial {
			break
		}
	}
	w := newWorker(m, d.compiled(), d.Header.Seed)
	w.replay = &td
	return w.traceRun(trial)
}
