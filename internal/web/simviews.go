package web

// SimulationsPage is the runner: the submission form and the runs.
type SimulationsPage struct {
	Base
	// Form is nil when the user may not run simulations; Refusal says why.
	Form    *SimForm
	Refusal string
	NoQueue bool // this process has no job queue (not bulwark serve)
	Error   string
	Runs    []SimRunRow
	// Active: some run is queued or running, so the table refreshes.
	Active bool
}

// SimForm is what the runner's form holds (as typed, on a refusal).
type SimForm struct {
	CSRF                string
	Scenario, Options   string
	Trials, Seed, Crews string
}

// SimRunRow is a run in the runs table and on its page.
type SimRunRow struct {
	ID, Href, Name, Kind, Status, By string
	Trials, Crews, Attempts          int
	LastTrial                        int
	Seed                             uint64
	Done, Total                      int64
	Percent                          string
	Error                            string
	Submitted, Started, Finished     string
	Took                             string
	Active                           bool
}

// SimulationPage is one run.
type SimulationPage struct {
	Base
	Run               SimRunRow
	Scenario, Options string
	CanCancel         bool
	Error             string
	Result            *SimResultView // nil until done
}

// SimResultView is a finished run's tables and the charts' data (JSON,
// drawn by simulations.js).
type SimResultView struct {
	Trials        int
	Stopped       bool
	Nodes         int
	Horizon       string
	Seconds       string
	Events        []SimEventRow
	Goal          string // the goal in words, "" without one
	GoalProb      string
	GoalChart     string
	Loss          string
	MeanFailed    string
	Services      []SimServiceRow
	ServicesTotal int
	TargetsChart  string
	TargetsShown  int
	// ExceedanceChart holds P(downtime > t) of the Curves services with
	// the most expected downtime.
	ExceedanceChart string
	Curves          int
	Top             []SimContributorRow
	TopChart        string
	Invest          bool
	Ranking         []SimRankRow
	RankingChart    string
}

// SimEventRow is a scenario event and the nodes it may hit.
type SimEventRow struct {
	Name  string
	Nodes int
}

// SimServiceRow is one service of a result.
type SimServiceRow struct {
	ID, Href, Name        string
	Critical              bool
	PDown, Mean, P50, P90 string
	P99                   string
	RTO, MTD              string
	RTOTarget, MTDTarget  string
}

// SimContributorRow is a node whose restoration the loss waited on.
type SimContributorRow struct {
	ID, Loss, Share string
}

// SimRankRow is one investment option, best first.
type SimRankRow struct {
	Rank                         int
	Name, Cost, Avoided, PerCost string
	// Unclear: the avoided loss's interval includes 0.
	Unclear bool
}
