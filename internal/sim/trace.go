package sim

// Trace is the story of one trial, events in time order, for explaining a
// result: which events fired, which nodes were hit, went down, were
// restored and came back, and why.
type Trace struct {
	Trial  int          `json:"trial"`
	Events []TraceEvent `json:"events"`
}

// TraceEvent is one step of a trial. Kind is "event" (scenario event
// Event fired), "hit" (Node directly hit by event Event), "restore-start" (a crew began
// restoring Node), "restored" (Node's own restoration finished), "down"
// (Node failed; Cause is the hit that spread to it) or "up" (Node came
// back; Cause is the restored node that brought it back).
type TraceEvent struct {
	T     float64 `json:"t_h"`
	Kind  string  `json:"kind"`
	Node  string  `json:"node,omitempty"`
	Cause string  `json:"cause,omitempty"`
	Event int     `json:"event"` // index of the scenario event ("event", "hit"), else -1
}

func (tr *Trace) add(m *Model, t float64, kind string, x, cause int32) {
	e := TraceEvent{T: t, Kind: kind, Event: -1}
	switch {
	case kind == "event":
		e.Event = int(cause)
	case kind == "hit":
		e.Node, e.Event = m.g.ID(x), int(cause)
	default:
		e.Node = m.g.ID(x)
		if cause >= 0 && cause != x {
			e.Cause = m.g.ID(cause)
		}
	}
	tr.Events = append(tr.Events, e)
}
