package sim

import "slices"

// The engine of one trial. A worker owns reusable state sized to the graph
// and resets only what a trial touched, so a trial that fails 1% of a
// million nodes costs about 1% of the graph, not all of it.
//
// A node's failure is a counter: bad[x] counts its direct hits not yet
// restored, its failed ungrouped hard dependencies and its broken hard
// redundancy groups (a group is broken when at least size-need+1 of its
// members are down). x is failed iff bad[x] > 0. Counters only ever change
// by the transitions of other nodes, so failing and restoring cost the
// edges of the nodes that change state.
//
// Counters alone would keep a cycle down forever once each member holds
// the next one down; so whenever a counter of a node on a cycle drops but
// stays positive, the node's cyclic component is re-evaluated from its
// direct hits and outside causes (the least fixpoint, which is what
// depgraph's static analysis computes).

// queue item kinds.
const (
	qStart    = iota // scenario event x starts
	qCrewDone        // a crew finished restoring node x
	qBackOn          // node x's outside outage ended
)

type qitem struct {
	t    float64
	seq  uint32
	kind uint8
	x    int32
}

func qless(a, b *qitem) bool { return a.t < b.t || a.t == b.t && a.seq < b.seq }

// job is restoration work waiting for a crew. Jobs are served by priority
// (higher first), then node id, then in the order they were queued (a node
// hit by two events has two jobs).
type job struct {
	prio uint64
	x    int32
	seq  uint32
	d    float64
}

func jless(a, b *job) bool {
	return a.prio > b.prio || a.prio == b.prio && (a.x < b.x || a.x == b.x && a.seq < b.seq)
}

// attrib is loss (person-hours) attributed to a directly hit node.
type attrib struct {
	x    int32
	loss float64
}

// trialResult receives one trial's output.
type trialResult struct {
	down   []float64 // per service, hours
	maxOut []float64 // per service, longest outage
	loss   float64   // person-hours
	failed int       // node failures (a node failing twice counts twice)
	goal   bool
	attr   []attrib
}

type worker struct {
	m    *Model
	c    *compiled
	seed uint64

	// bad[u] is unit u's counter (see Model.adj): for a node, its
	// unrestored direct hits, failed ungrouped hard dependencies and
	// broken hard groups, down when > 0; for a group, its members down
	// minus (size-need), broken when > 0, resting at need-size.
	bad     []int32
	touched []int32
	pseudo  int // groups that broke in the current raise (not failures)

	stack  []int32 // room for every unit
	ups    []int32 // nodes that came back in restored, in order; room for every unit
	dirty  []int32
	dmark  []bool // per cyclic component: in dirty
	rmark  []uint32
	repoch uint32
	q      []int32
	rose   []int32

	since    []float64
	cause    []int32
	critDown int

	free    []int32
	pstamp  []uint32
	pepoch  uint32
	waiting [][]job
	tpools  []int32
	pready  []bool
	pending []int32

	heap []qitem
	seq  uint32

	trial int
	base  uint64 // root of the trial's draws
	out   *trialResult
	trace *Trace
	// notify has a bit for the units whose going down and coming back
	// are recorded (failed, up): the services and the groups, or every
	// unit when tracing.
	notify []uint64
	// rec, when set, receives the trial's draws as they are made; replay,
	// when set, supplies them instead (recorded draws: no hashing).
	rec    *TrialDraws
	replay *TrialDraws
}

func newWorker(m *Model, c *compiled, seed uint64) *worker {
	w := &worker{
		m: m, c: c, seed: seed, notify: m.notify,
		bad:   make([]int32, m.units()),
		dmark: make([]bool, len(m.cycOff)), rmark: make([]uint32, m.units()),
		stack: make([]int32, 0, m.units()), ups: make([]int32, 0, m.units()),
		since: make([]float64, len(m.svc)), cause: make([]int32, len(m.svc)),
		free: make([]int32, len(m.pools)), pstamp: make([]uint32, len(m.pools)),
		waiting: make([][]job, len(m.pools)), pready: make([]bool, len(m.pools)),
	}
	for gi, t := range m.gThresh {
		w.bad[m.n+gi] = 1 - t
	}
	return w
}

// The event queue and the waiting jobs are binary heaps that move a hole
// rather than swapping: half the memory traffic of swaps.

func (w *worker) push(it qitem) {
	it.seq = w.seq
	w.seq++
	h := append(w.heap, it)
	i := len(h) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !qless(&it, &h[p]) {
			break
		}
		h[i] = h[p]
		i = p
	}
	h[i] = it
	w.heap = h
}

func (w *worker) pop() qitem {
	h := w.heap
	top := h[0]
	last := h[len(h)-1]
	h = h[:len(h)-1]
	n := len(h)
	if n > 0 {
		i := 0
		for {
			l := 2*i + 1
			if l >= n {
				break
			}
			if r := l + 1; r < n && qless(&h[r], &h[l]) {
				l = r
			}
			if !qless(&h[l], &last) {
				break
			}
			h[i] = h[l]
			i = l
		}
		h[i] = last
	}
	w.heap = h
	return top
}

func pushJob(q []job, j job) []job {
	q = append(q, j)
	i := len(q) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !jless(&j, &q[p]) {
			break
		}
		q[i] = q[p]
		i = p
	}
	q[i] = j
	return q
}

func popJob(q []job) (job, []job) {
	top := q[0]
	last := q[len(q)-1]
	q = q[:len(q)-1]
	n := len(q)
	if n > 0 {
		i := 0
		for {
			l := 2*i + 1
			if l >= n {
				break
			}
			if r := l + 1; r < n && jless(&q[r], &q[l]) {
				l = r
			}
			if !jless(&q[l], &last) {
				break
			}
			q[i] = q[l]
			i = l
		}
		q[i] = last
	}
	return top, q
}

// run simulates trial into out.
func (w *worker) run(trial int, out *trialResult) {
	m, c := w.m, w.c
	w.trial, w.out = trial, out
	w.base = trialBase(w.seed, trial)
	clear(out.down)
	clear(out.maxOut)
	out.attr = out.attr[:0]
	out.loss = 0
	out.failed = 0
	w.critDown = 0
	w.pepoch++
	w.seq = 0
	w.heap = w.heap[:0]
	if r := w.replay; r != nil {
		for k := range r.Events {
			if t := r.Events[k].Start; t <= c.horizon {
				w.push(qitem{t: t, kind: qStart, x: int32(k)})
			}
		}
	} else {
		for k := range c.events {
			ev := &c.events[k]
			t := ev.start.Quantile(draw(w.base, streamStart, ev.key))
			if t <= c.horizon && len(ev.nodes) > 0 {
				w.push(qitem{t: t, kind: qStart, x: int32(k)})
			}
		}
	}
	goalAt := c.goal.Within
	snapped := false
	critAt := 0
	for len(w.heap) > 0 && w.heap[0].t <= c.horizon {
		it := w.pop()
		if !snapped && it.t > goalAt {
			snapped, critAt = true, w.critDown
		}
		switch it.kind {
		case qStart:
			w.start(it.x, it.t)
		case qCrewDone:
			w.restored(it.x, it.t)
			p := m.pool[it.x]
			w.free[p]++
			w.ready(p)
		case qBackOn:
			w.restored(it.x, it.t)
		}
		// Crews are dispatched once everything happening at this instant
		// is known, so simultaneous hits compete by priority.
		if len(w.heap) == 0 || w.heap[0].t > it.t {
			w.dispatch(it.t)
		}
	}
	if !snapped {
		critAt = w.critDown
	}
	// Close outages still open at the horizon; blame the hit that started them.
	for s, x := range m.svc {
		if w.bad[x] > 0 {
			w.closeOutage(s, c.horizon, w.cause[s])
		}
	}
	out.goal = m.nCrit == 0 || float64(m.nCrit-critAt) >= c.goal.Share*float64(m.nCrit)-1e-9
	// Reset what the trial touched: the nodes that went down, the groups
	// that broke, and the groups of members still down.
	n, bad := int32(m.n), w.bad
	for _, x := range w.touched {
		if x >= n {
			bad[x] = 1 - m.gThresh[x-n]
			continue
		}
		if bad[x] > 0 {
			for _, v := range m.deps(x) {
				if v >= uint32(n) {
					bad[v] = 1 - m.gThresh[v-uint32(n)]
				}
			}
		}
		bad[x] = 0
	}
	w.touched = w.touched[:0]
	for _, p := range w.tpools {
		w.waiting[p] = w.waiting[p][:0]
	}
	for _, p := range w.pending {
		w.pready[p] = false
	}
	w.pending = w.pending[:0]
	w.tpools = w.tpools[:0]
}

// start fires scenario event k at time t. With recorded draws, k is the
// position of the event among the trial's recorded events.
func (w *worker) start(k int32, t float64) {
	if w.replay != nil {
		w.startRecorded(k, t)
		return
	}
	m := w.m
	ev := &w.c.events[k]
	p := ev.prob(w.base)
	w.event(t, "event", -1, k)
	var dur float64
	if ev.external {
		dur = ev.duration.Quantile(draw(w.base, streamDuration, ev.key))
	}
	var rec *EventDraws
	if w.rec != nil {
		rec = w.rec.add(int(k), t, ev.external, dur)
	}
	if p <= 0 {
		return
	}
	if ev.joint {
		if p < 1 && draw(w.base, streamJoint, ev.key) >= p {
			return
		}
		p = 1
	}
	for j, x := range ev.nodes {
		hk := ev.hkeys[j] // the node's key mixed with the event's
		if p < 1 && draw(w.base, streamHit, hk) >= p {
			continue
		}
		d := dur
		if !ev.external {
			r := &m.recs[m.rec[x]]
			d = r.time(ev.noBackups).Quantile(draw(w.base, streamRestore, hk))
		}
		if rec != nil {
			rec.Hits = append(rec.Hits, HitDraw{Node: x, Restore: d})
		}
		w.hit(x, t, ev.idx, ev.external, d)
	}
}

// startRecorded fires the k-th recorded event of the trial at time t.
func (w *worker) startRecorded(k int32, t float64) {
	ev := &w.replay.Events[k]
	w.event(t, "event", -1, int32(ev.Event))
	for _, h := range ev.Hits {
		d := h.Restore
		if ev.External {
			d = ev.Duration
		}
		w.hit(h.Node, t, int32(ev.Event), ev.External, d)
	}
}

// hit makes x directly down at t and queues its restoration: a crew job of
// d hours, or, for an event that restores itself (external), x's return
// after d hours. Every hit is a compromise of its own with its own
// restoration: a node hit twice is directly down until both are done (so
// removing a hit never lengthens an outage when crews are plentiful).
func (w *worker) hit(x int32, t float64, event int32, external bool, d float64) {
	m := w.m
	w.event(t, "hit", x, event)
	w.raise(x, t)
	if external {
		w.push(qitem{t: t + d, kind: qBackOn, x: x})
		return
	}
	p := m.pool[x]
	if w.pstamp[p] != w.pepoch {
		w.pstamp[p] = w.pepoch
		w.free[p] = m.crews[p]
		w.tpools = append(w.tpools, p)
	}
	// Jobs share the event queue's sequence: only the order matters.
	w.waiting[p] = pushJob(w.waiting[p], job{prio: m.prio[x], x: x, seq: w.seq, d: d})
	w.seq++
	w.ready(p)
}

// ready notes that pool p may have work to dispatch.
func (w *worker) ready(p int32) {
	if !w.pready[p] {
		w.pready[p] = true
		w.pending = append(w.pending, p)
	}
}

// dispatch starts waiting work on free crews at t, highest priority first.
// Pools are independent, so their order does not matter.
func (w *worker) dispatch(t float64) {
	for _, p := range w.pending {
		w.pready[p] = false
		for w.free[p] > 0 && len(w.waiting[p]) > 0 {
			var j job
			j, w.waiting[p] = popJob(w.waiting[p])
			w.free[p]--
			w.event(t, "restore-start", j.x, -1)
			w.push(qitem{t: t + j.d, kind: qCrewDone, x: j.x})
		}
	}
	w.pending = w.pending[:0]
}

// raise adds x's direct hit to its counter and spreads the failure.
func (w *worker) raise(x int32, t float64) {
	bad := w.bad
	bad[x]++
	if bad[x] != 1 {
		return
	}
	// The touched list doubles as the work queue: every unit that goes
	// down is appended once, and the units from i on are still to spread.
	// A unit goes down at most once here, so room for every unit means the
	// loop writes by index and never grows the list: no call in the loop
	// (calls make the compiler keep the loop's values in memory).
	m := w.m
	adj := m.adj
	touched := w.touched
	if cap(touched)-len(touched) < m.nu {
		touched = slices.Grow(touched, m.nu)
	}
	first := len(touched)
	buf := touched[:cap(touched)]
	buf[first] = x
	k := first + 1
	for i := first; i < k; i++ {
		y := buf[i]
		for e, hi := adj[y], adj[y+1]; e < hi; e++ {
			v := adj[e]
			bad[v]++
			if bad[v] == 1 {
				buf[k] = int32(v)
				k++
			}
		}
	}
	w.touched = buf[:k]
	// Report what went down, in the order it did.
	notify := w.notify
	for _, y := range buf[first:k] {
		if notify[uint32(y)>>6]&(1<<(uint32(y)&63)) != 0 {
			w.failed(y, t, x)
		}
	}
	w.out.failed += k - first - w.pseudo
	w.pseudo = 0
}

// restored removes one direct hit of x at t and brings back whatever
// that frees, cycles included.
func (w *worker) restored(x int32, t float64) {
	w.event(t, "restored", x, -1)
	w.stack = w.stack[:0]
	w.ups = w.ups[:0]
	w.lower(x)
	m := w.m
	n := uint32(m.n)
	adj, bad, cycBit := m.adj, w.bad, m.cycBit
	for {
		// Drain the stack. A node is pushed when its counter reaches 0,
		// at most once here, and the stack and the list of nodes that came
		// up have room for every unit: no call but the rare cycle check.
		// A group that regains its quorum lowers its owner at once.
		buf, k := w.stack[:cap(w.stack)], len(w.stack)
		ups, u := w.ups[:cap(w.ups)], len(w.ups)
		for k > 0 {
			k--
			y := buf[k]
			ups[u] = y
			u++
			for e, hi := adj[y], adj[y+1]; e < hi; e++ {
				v := adj[e]
				bad[v]--
				if b := bad[v]; b == 0 {
					if v >= n {
						v = adj[adj[v]] // the group's owner
						bad[v]--
						if bad[v] == 0 {
							buf[k] = int32(v)
							k++
						} else if cycBit[v>>6]&(1<<(v&63)) != 0 {
							w.cycDirty(int32(v))
						}
					} else {
						buf[k] = int32(v)
						k++
					}
				} else if cycBit[v>>6]&(1<<(v&63)) != 0 && b > 0 {
					// Still down: a cycle through v may hold it so.
					w.cycDirty(int32(v))
				}
			}
		}
		w.stack, w.ups = buf[:0], ups[:u]
		if len(w.dirty) == 0 {
			break
		}
		c := w.dirty[len(w.dirty)-1]
		w.dirty = w.dirty[:len(w.dirty)-1]
		w.dmark[c] = false
		w.reeval(c, t, x)
	}
	// Report what came back, in the order it did.
	notify := w.notify
	for _, y := range w.ups {
		if notify[uint32(y)>>6]&(1<<(uint32(y)&63)) != 0 {
			w.up(y, t, x)
		}
	}
}

// lower decrements unit v's counter: a node comes up at zero, a group
// regains its quorum and lowers its owner; a unit on a cycle that stays
// down gets its component re-evaluated.
func (w *worker) lower(v int32) {
	m := w.m
	w.bad[v]--
	if b := w.bad[v]; b == 0 {
		if v >= int32(m.n) {
			w.lower(int32(m.adj[m.adj[v]])) // the group's owner
			return
		}
		w.stack = append(w.stack, v)
	} else if b > 0 && m.cyc[v] >= 0 {
		w.cycDirty(v)
	}
}

// cycDirty marks the cyclic component of v for re-evaluation.
func (w *worker) cycDirty(v int32) {
	if c := w.m.cyc[v]; !w.dmark[c] {
		w.dmark[c] = true
		w.dirty = append(w.dirty, c)
	}
}

// reeval recomputes which members of cyclic component c are down: the
// least fixpoint from members held down by a direct hit or by something
// outside c. Members that come up are pushed on the stack.
func (w *worker) reeval(c int32, t float64, root int32) {
	m := w.m
	mem := m.cycNodes[m.cycOff[c]:m.cycOff[c+1]]
	w.repoch++
	if w.repoch == 0 {
		clear(w.rmark)
		w.repoch = 1
	}
	ep := w.repoch
	down := ep // rmark == down: member was down before
	// 1. Withdraw every down member's contribution to members of c.
	any := false
	for _, y := range mem {
		if w.bad[y] > 0 {
			any = true
			w.rmark[y] = down
		}
	}
	if !any {
		return
	}
	for _, y := range mem {
		if w.rmark[y] == down {
			w.inside(y, c, -1)
		}
	}
	// 2. Re-add from the members still held down, to a fixpoint.
	w.repoch++
	ep = w.repoch
	q := w.q[:0]
	for _, y := range mem {
		if w.rmark[y] == down && w.bad[y] > 0 {
			w.rmark[y] = ep
			q = append(q, y)
		}
	}
	for len(q) > 0 {
		y := q[len(q)-1]
		q = q[:len(q)-1]
		for _, v := range w.inside(y, c, +1) {
			if w.rmark[v] != ep {
				w.rmark[v] = ep
				q = append(q, v)
			}
		}
	}
	w.q = q
	// 3. Members down before and not re-derived come up now. Their
	// contributions inside c are already withdrawn; withdraw those
	// outside, which may bring up more (the caller drains the stack).
	for _, y := range mem {
		if w.rmark[y] != down {
			continue
		}
		if y < int32(m.n) {
			w.ups = append(w.ups, y) // restored reports it
		}
		for _, v := range m.deps(y) {
			if m.cyc[v] != c {
				w.lower(int32(v))
			}
		}
	}
}

// inside adds delta to the contribution of member y of cyclic component c
// to the members of c, and returns the members whose counter rose from 0.
func (w *worker) inside(y, c int32, delta int32) []int32 {
	m := w.m
	w.rose = w.rose[:0]
	for _, v := range m.deps(y) {
		if m.cyc[v] != c {
			continue
		}
		w.bad[v] += delta
		if delta > 0 && w.bad[v] == 1 {
			w.rose = append(w.rose, int32(v))
		}
	}
	return w.rose
}

// failed records that y went down at t because of the hit on root.
func (w *worker) failed(y int32, t float64, root int32) {
	if y >= int32(w.m.n) {
		w.pseudo++ // a group broke
		return
	}
	w.event(t, "down", y, root)
	if w.m.svcBit[y/64]&(1<<(y%64)) == 0 {
		return
	}
	s := w.m.svcIdx[y]
	w.since[s], w.cause[s] = t, root
	if w.m.critical[s] {
		w.critDown++
	}
}

// up records that y came back at t, brought back by restoring root.
func (w *worker) up(y int32, t float64, root int32) {
	if y >= int32(w.m.n) {
		return
	}
	w.event(t, "up", y, root)
	if w.m.svcBit[y/64]&(1<<(y%64)) == 0 {
		return
	}
	s := w.m.svcIdx[y]
	w.closeOutage(int(s), t, root)
	if w.m.critical[s] {
		w.critDown--
	}
}

// closeOutage ends service s's outage at t and charges its person-hours to
// root: the restoration that ended it (or, at the horizon, the hit that
// began it).
func (w *worker) closeOutage(s int, t float64, root int32) {
	d := t - w.since[s]
	out := w.out
	out.down[s] += d
	out.maxOut[s] = max(out.maxOut[s], d)
	if loss := d * w.m.svcPop[s]; loss > 0 {
		out.loss += loss
		out.attr = append(out.attr, attrib{root, loss})
	}
}

// event appends to the trace, when one is being recorded.
func (w *worker) event(t float64, kind string, x, cause int32) {
	if w.trace == nil {
		return
	}
	w.trace.add(w.m, t, kind, x, cause)
}
