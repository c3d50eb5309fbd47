// Package report renders the council report on the city's posture: the
// readiness index and its trend, indicators, top gaps, exposure of critical
// services and overdue actions, as self-contained HTML and as PDF.
//
// The model is plain data filled by internal/baseline; this package only
// lays it out, so the same figures appear in both formats.
package report

import "time"

// Report is everything one report shows.
type Report struct {
	Title     string
	City      string
	Generated time.Time
	// Org is "" for the city-wide report, else the organization reported on.
	Org string

	// Index is the readiness index (0–100) now; Measured is false when no
	// indicator could be computed.
	Index    float64
	Measured bool
	// Trend is the index history, oldest first (may be empty). Its last
	// point is the current snapshot, so the change shown in the headline is
	// Index minus the value of the point before it.
	Trend []Point
	// Drivers explain the change since the previous snapshot, largest
	// first.
	Drivers []Driver

	Indicators []Indicator
	// Functions is baseline coverage per CSF 2.0 function (GV…RC).
	Functions []FunctionCoverage
	Profiles  []ProfileCompliance
	TopGaps   []Gap
	Exposure  []ServiceExposure
	Overdue   []OverdueAction
	// Notes are caveats printed at the end (data not yet collected, etc.).
	Notes []string
}

// Point is one value of a time series.
type Point struct {
	At    time.Time
	Value float64
}

// Driver is one indicator's contribution to the index change.
type Driver struct {
	Indicator string
	Delta     float64 // index points
	Why       string
}

// Indicator is one measured (or not yet measured) indicator.
type Indicator struct {
	ID       string
	Name     string
	Formula  string
	Value    string // formatted in its unit, "not measured" when not
	Score    float64
	Weight   float64
	Measured bool
	// Reason says why an indicator is not measured ("no asset inventory
	// received yet"); readers must see why, not a zero.
	Reason string
}

// FunctionCoverage is the share of CSF subcategories implemented.
type FunctionCoverage struct {
	Function string // "GV"
	Name     string // "Govern"
	Coverage float64
	Assessed int // controls with a result
	Total    int
}

// ProfileCompliance counts the organizations meeting a baseline profile.
type ProfileCompliance struct {
	Profile string
	Name    string
	Meeting int
	Total   int
}

// Gap is one control short of its target, ranked by risk.
type Gap struct {
	Org     string
	Scope   string
	Control string
	Title   string
	Status  string
	Score   float64
	Why     string
}

// ServiceExposure is a critical service and the findings on what it
// depends on.
type ServiceExposure struct {
	Service    string
	Name       string
	Category   string
	Population int64
	Act        int64
	Attend     int64
	KEV        int64
	Overdue    int64
}

// OverdueAction is a finding past its due date.
type OverdueAction struct {
	Owner    string
	Asset    string
	Vuln     string
	Decision string
	Due      time.Time
	DaysOver int
}
