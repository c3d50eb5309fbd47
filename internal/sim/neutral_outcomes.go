package sim

import (
	"errors"
	"io"
	"math"
	"strconv"

	"bulwark"
)

// OutcomeRecord is one trial's outcome as an outcomes file gives it:
// person-hours lost, whether the goal held, node failures (a node failing
// twice counts twice), and every service with positive downtime, in ID
// order, with its hours down and its longest outage.
type OutcomeRecord struct {
	Trial  int
	Loss   float64
	Goal   bool
	Failed int64
	Down   []ServiceDown
	Line   int // of the trial record, for messages
}

// ServiceDown is one service's downtime in a trial.
type ServiceDown struct {
	ID      string
	Down    float64 // hours, the sum of its outages
	Longest float64 // hours, its longest outage
	Line    int
}

// OutcomeWriter writes an outcomes file; give it to Options.Outcomes and
// Close it after the run.
type OutcomeWriter struct {
	t       *tsvWriter
	m       *Model
	written int
}

// NewOutcomeWriter starts an outcomes file for trials of m.
func NewOutcomeWriter(w io.Writer, m *Model) *OutcomeWriter {
	t := newTSVWriter(w)
	t.rec(outcomesMagic, neutralV)
	return &OutcomeWriter{t: t, m: m}
}

func (o *OutcomeWriter) write(trial int, r *trialResult) error {
	if trial != o.written {
		return bulwark.Errorf(bulwark.EINVALID, "outcomes: trial %d written after %d trials", trial, o.written)
	}
	o.written++
	t, m := o.t, o.m
	t.rec("trial", strconv.Itoa(trial), fmtFloat(r.loss), fmtFlag(r.goal), strconv.Itoa(r.failed))
	for s, x := range m.svc {
		if r.down[s] > 0 {
			t.rec("down", m.g.ID(x), fmtFloat(r.down[s]), fmtFloat(r.maxOut[s]))
		}
	}
	return t.err
}

// Close writes the end line and flushes.
func (o *OutcomeWriter) Close() error {
	o.t.rec("end")
	return o.t.flush()
}

// OutcomesReader reads an outcomes file trial by trial (Bulwark's or an
// independent implementation's).
type OutcomesReader struct {
	l    *lineReader
	next int
}

// NewOutcomesReader checks the header of an outcomes file.
func NewOutcomesReader(r io.Reader, name string) (*OutcomesReader, error) {
	l := newLineReader(r, name)
	if err := l.header(outcomesMagic); err != nil {
		return nil, err
	}
	return &OutcomesReader{l: l}, nil
}

// Next reads the next trial into rec; io.EOF after the end line.
func (o *OutcomesReader) Next(rec *OutcomeRecord) error {
	l := o.l
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
		if err := l.end(); err != nil {
			return err
		}
		return io.EOF
	}
	if f[0] != "trial" {
		return l.errf("expected a trial or the end line, got %q", bulwark.Abbrev(f[0], 64))
	}
	if err := l.want(f, 5, "trial INDEX LOSS GOAL FAILED"); err != nil {
		return err
	}
	if f[1] != strconv.Itoa(o.next) {
		return l.errf("trial %q: trials are numbered 0, 1, 2... in order; expected %d", bulwark.Abbrev(f[1], 64), o.next)
	}
	*rec = OutcomeRecord{Trial: o.next, Down: rec.Down[:0], Line: l.line}
	if rec.Loss, err = l.float(f[2], "loss"); err != nil {
		return err
	}
	if rec.Goal, err = l.flag(f[3], "goal"); err != nil {
		return err
	}
	if rec.Failed, err = l.integer(f[4], "failed", 0, math.MaxInt64); err != nil {
		return err
	}
	o.next++
	for {
		f, err := l.next()
		if errors.Is(err, io.EOF) {
			return l.truncated("its end line")
		}
		if err != nil {
			return err
		}
		if f[0] != "down" {
			l.unread()
			return nil
		}
		if err := l.want(f, 4, "down SERVICE HOURS LONGEST_H"); err != nil {
			return err
		}
		if n := len(rec.Down); n > 0 && f[1] <= rec.Down[n-1].ID {
			return l.errf("service %q after %q: a trial's services come in increasing ID order, each once", bulwark.Abbrev(f[1], 64), rec.Down[n-1].ID)
		}
		if len(rec.Down) >= 1<<24 {
			return l.errf("more than %d services in one trial", 1<<24)
		}
		sd := ServiceDown{ID: f[1], Line: l.line}
		if sd.Down, err = l.float(f[2], "hours down"); err != nil {
			return err
		}
		if sd.Longest, err = l.float(f[3], "longest outage"); err != nil {
			return err
		}
		if sd.Down == 0 || sd.Longest == 0 || sd.Longest > sd.Down {
			return l.errf("service %q: hours down %g and longest outage %g must be positive, the longest no more than the sum", bulwark.Abbrev(f[1], 64), sd.Down, sd.Longest)
		}
		rec.Down = append(rec.Down, sd)
	}
}

// CompareOutcomes reads two outcomes files to their ends and reports the
// first difference: trials, failures, goals and the set of services down
// must agree exactly; hours and person-hours to within tol relative to the
// larger value (or tol absolute below 1). It returns the trials compared.
func CompareOutcomes(a, b *OutcomesReader, tol float64) (int, error) {
	var ra, rb OutcomeRecord
	differ := func(format string, args ...any) error {
		return bulwark.Errorf(bulwark.ECONFLICT, "outcomes differ: "+format, args...)
	}
	near := func(x, y float64) bool { return math.Abs(x-y) <= tol*max(1, math.Abs(x), math.Abs(y)) }
	where := func(r *OutcomeRecord, o *OutcomesReader) string {
		return o.l.name + ":" + strconv.Itoa(r.Line)
	}
	for n := 0; ; n++ {
		ea, eb := a.Next(&ra), b.Next(&rb)
		switch {
		case errors.Is(ea, io.EOF) && errors.Is(eb, io.EOF):
			return n, nil
		case ea != nil && !errors.Is(ea, io.EOF):
			return n, ea
		case eb != nil && !errors.Is(eb, io.EOF):
			return n, eb
		case ea != nil:
			return n, differ("%s has %d trials, %s more", a.l.name, n, b.l.name)
		case eb != nil:
			return n, differ("%s has %d trials, %s more", b.l.name, n, a.l.name)
		}
		wa, wb := where(&ra, a), where(&rb, b)
		if ra.Failed != rb.Failed || ra.Goal != rb.Goal || !near(ra.Loss, rb.Loss) {
			return n, differ("trial %d: failures %d, goal %t, loss %v (%s) against %d, %t, %v (%s)",
				n, ra.Failed, ra.Goal, ra.Loss, wa, rb.Failed, rb.Goal, rb.Loss, wb)
		}
		for i := 0; i < max(len(ra.Down), len(rb.Down)); i++ {
			if i >= len(ra.Down) || i >= len(rb.Down) || ra.Down[i].ID != rb.Down[i].ID {
				return n, differ("trial %d: services down %s (%s) against %s (%s)", n, serviceIDs(ra.Down), wa, serviceIDs(rb.Down), wb)
			}
			sa, sb := ra.Down[i], rb.Down[i]
			if !near(sa.Down, sb.Down) || !near(sa.Longest, sb.Longest) {
				return n, differ("trial %d: %s down %v h, longest %v h (%s:%d) against %v h, %v h (%s:%d)",
					n, sa.ID, sa.Down, sa.Longest, a.l.name, sa.Line, sb.Down, sb.Longest, b.l.name, sb.Line)
			}
		}
	}
}

func serviceIDs(d []ServiceDown) string {
	s := "["
	for i, x := range d {
		if i > 0 {
			s += " "
		}
		if i == 8 {
			s += "..."
			break
		}
		s += x.ID
	}
	return s + "]"
}
