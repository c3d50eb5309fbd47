package bulwark

import (
	"context"
	"time"
)

// SimRun is one resilience simulation submitted to run in the background:
// a scenario (and, to compare investments, an options file) as written,
// the Monte Carlo settings, where the run stands, and its result. Runs
// belong to the organization of whoever submitted them and only that
// organization (and the System principal) sees them.
type SimRun struct {
	ID          string     `json:"id"`
	Org         string     `json:"org"`
	SubmittedBy string     `json:"submitted_by"`
	Kind        SimRunKind `json:"kind"`
	// Name is the scenario's name, for listings.
	Name     string `json:"name,omitempty"`
	Scenario string `json:"scenario,omitempty"` // the scenario file (YAML)
	Options  string `json:"options,omitempty"`  // the options file (YAML), invest runs only
	Trials   int    `json:"trials"`
	Seed     uint64 `json:"seed"`
	Crews    int    `json:"crews"` // crews per owner and skill

	Status SimRunStatus `json:"status"`
	// Done and Total count trials (an invest run's total covers the
	// baseline and every option).
	Done  int64 `json:"done"`
	Total int64 `json:"total"`
	// Error says why a run failed, or why a queued run is waiting again
	// (interrupted by a restart).
	Error string `json:"error,omitempty"`
	// JobID is the background job that works the run now; Attempts counts
	// the jobs the run has been given (a run interrupted by a restart gets
	// a new one).
	JobID    int64 `json:"-"`
	Attempts int   `json:"attempts"`

	CreatedAt   time.Time `json:"created_at"`
	StartedAt   time.Time `json:"started_at,omitzero"`
	FinishedAt  time.Time `json:"finished_at,omitzero"`
	HeartbeatAt time.Time `json:"-"`

	// Result is the outcome as a JSON document (set when Status is done);
	// the store keeps it as it is. Listings leave it, the scenario and the
	// options out.
	Result []byte `json:"-"`
}

// SimRunKind is what a run computes.
type SimRunKind string

// Kinds of run: one scenario's Monte Carlo, or the comparison of
// investment options on a scenario.
const (
	SimSimulate SimRunKind = "simulate"
	SimInvest   SimRunKind = "invest"
)

// SimRunStatus is where a run stands.
type SimRunStatus string

// Run statuses. Done, failed and canceled are final.
const (
	SimQueued   SimRunStatus = "queued"
	SimRunning  SimRunStatus = "running"
	SimDone     SimRunStatus = "done"
	SimFailed   SimRunStatus = "failed"
	SimCanceled SimRunStatus = "canceled"
)

// Final reports whether the status can no longer change.
func (s SimRunStatus) Final() bool { return s == SimDone || s == SimFailed || s == SimCanceled }

// Limits of simulation runs.
const (
	// MaxSimInput caps a run's scenario and its options file, each.
	MaxSimInput = 512 << 10
	// MaxSimResult caps a run's stored result.
	MaxSimResult = 64 << 20
	// MaxActiveSimRuns bounds the runs of one organization that are
	// queued or running at once.
	MaxActiveSimRuns = 4
	// MaxSimError caps a run's error message.
	MaxSimError = 4000
)

// SimRunFilter selects runs of a listing, newest first.
type SimRunFilter struct {
	Statuses []SimRunStatus // any of these; none: every status
	Limit    int            // 1..MaxPageSize; 0: DefaultPageSize
	Before   string         // the runs submitted before this one (a cursor)
}

// SimRunUpdate is a change the job working a run makes to it. It applies
// only while the run belongs to job Job and is not final; otherwise the
// store answers ECONFLICT and the job should stop.
//
//   - Status running: the job works the run (first call: Total set, Done
//     reset) or reports progress (Done) and is alive (the heartbeat).
//   - Status queued: the run waits again, Error saying why. Detach leaves
//     it without a job (to be given a new one); NewJob gives a run without
//     a job (Job 0) that job, and Attempts counts one more.
//   - Status done: Result is stored. Status failed: Error says why.
type SimRunUpdate struct {
	Job    int64
	Status SimRunStatus
	Done   int64
	Total  int64
	Error  string
	Result []byte
	NewJob int64
	Detach bool
}

// SimRunStore persists simulation runs. Reads and cancellation are scoped
// to the caller's own organization (sharing grants do not extend to runs);
// updates are made by the System principal, which runs the jobs.
type SimRunStore interface {
	// CreateSimRun adds a queued run of the caller's organization (the
	// System principal names r.Org). ID, SubmittedBy, Status and CreatedAt
	// are set. ECONFLICT when the organization has MaxActiveSimRuns
	// queued or running.
	CreateSimRun(ctx context.Context, r *SimRun) error
	FindSimRun(ctx context.Context, id string) (*SimRun, error)
	// ListSimRuns lists runs without their scenario, options and result.
	ListSimRuns(ctx context.Context, f SimRunFilter) ([]SimRun, error)
	// UpdateSimRun changes a run as its job works it (System only).
	UpdateSimRun(ctx context.Context, id string, u SimRunUpdate) error
	// CancelSimRun cancels a queued or running run of the caller's
	// organization (writers) and returns it; ECONFLICT when it is final.
	CancelSimRun(ctx context.Context, id string) (*SimRun, error)
}
