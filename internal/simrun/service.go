// Package simrun runs resilience simulations (internal/sim) as background
// jobs: a run is submitted with its scenario (and investment options),
// stored as a bulwark.SimRun, worked by a River job that reports progress
// and stores the result, and read back, listed, canceled and explained
// (the trace of one trial) by the API, the web pages and the CLI through
// one Service.
//
// Who may run: writers (analysts, administrators) of a city-purview
// organization, and the local operator. A simulation reads the whole city
// (cascades cross owners), as the System principal, like other city-wide
// jobs; its runs are visible to the submitter's organization only.
package simrun

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"bulwark"
	"bulwark/internal/jobs"
	"bulwark/internal/sim"
)

// Limits of a submission.
const (
	DefaultTrials = 1000
	MaxTrials     = 100_000
	// MaxSeed keeps seeds exact in JavaScript clients (2^53 − 1).
	MaxSeed    = 1<<53 - 1
	MaxCrews   = 1000
	MaxOptions = 50
)

// Request is a submission.
type Request struct {
	Kind     bulwark.SimRunKind
	Scenario string // a scenario file (docs/scenarios.md)
	Options  string // an options file, for invest runs
	Trials   int    // 0: DefaultTrials
	Seed     uint64
	Crews    int // crews per owner and skill; 0: 1
}

// Service submits, reads, lists and cancels runs, and traces their trials.
type Service struct {
	st  bulwark.Store
	log *slog.Logger
	cfg Config
	now func() time.Time

	q *jobs.Part // nil: no job queue in this process; submissions are refused

	traceSlots chan struct{} // bounds concurrent trace computations
	modelMu    sync.Mutex
	model      *cachedModel // the last model traced, by city version
}

// New returns a Service without a job queue: it reads, lists and cancels
// runs, and refuses submissions (EUNAVAILABLE). Open gives one with the
// queue.
func New(st bulwark.Store, log *slog.Logger) *Service {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{st: st, log: log, cfg: Config{}.withDefaults(), now: time.Now, traceSlots: make(chan struct{}, 2)}
}

// authorize allows the System principal and writers of a city-purview
// organization.
func (s *Service) authorize(ctx context.Context, what string) (bulwark.Principal, error) {
	p, ok := bulwark.PrincipalFrom(ctx)
	if !ok || (!p.System && p.Org == "") {
		return p, bulwark.Errorf(bulwark.EUNAUTHORIZED, "authentication required")
	}
	if p.System {
		return p, nil
	}
	if p.Role.CanWrite() {
		if o, err := s.st.FindOrganization(ctx, p.Org); err == nil && o.Purview == bulwark.PurviewCity {
			return p, nil
		} else if err != nil && bulwark.ErrorCode(err) != bulwark.ENOTFOUND {
			return p, err
		}
	}
	return p, bulwark.Errorf(bulwark.EFORBIDDEN, "only analysts and administrators of a city organization may %s", what)
}

// CanSubmit says whether the caller may run simulations (nil), or why not.
func (s *Service) CanSubmit(ctx context.Context) error {
	_, err := s.authorize(ctx, "run simulations")
	return err
}

// Queued reports whether this Service has a job queue to run submissions.
func (s *Service) Queued() bool { return s.q != nil }

// parsed is a submission read and checked.
type parsed struct {
	scenario *sim.Scenario
	options  []sim.Option
}

// check validates a request and parses its files; errors name the file,
// the line and the field (sim.ParseScenario, sim.ParseOptions).
func check(req *Request) (*parsed, error) {
	switch req.Kind {
	case "":
		req.Kind = bulwark.SimSimulate
		if req.Options != "" {
			req.Kind = bulwark.SimInvest
		}
	case bulwark.SimSimulate, bulwark.SimInvest:
	default:
		return nil, bulwark.Errorf(bulwark.EINVALID, "kind %q: use simulate or invest", bulwark.Truncate(string(req.Kind), 40))
	}
	if req.Trials == 0 {
		req.Trials = DefaultTrials
	}
	if req.Crews == 0 {
		req.Crews = 1
	}
	switch {
	case req.Trials < 1 || req.Trials > MaxTrials:
		return nil, bulwark.Errorf(bulwark.EINVALID, "trials %d: use 1 to %d", req.Trials, MaxTrials)
	case req.Seed > MaxSeed:
		return nil, bulwark.Errorf(bulwark.EINVALID, "seed %d: use 0 to %d", req.Seed, uint64(MaxSeed))
	case req.Crews < 1 || req.Crews > MaxCrews:
		return nil, bulwark.Errorf(bulwark.EINVALID, "crews %d: use 1 to %d crews per owner and skill", req.Crews, MaxCrews)
	case strings.TrimSpace(req.Scenario) == "":
		return nil, bulwark.Errorf(bulwark.EINVALID, "scenario: paste or upload a scenario file")
	case len(req.Scenario) > bulwark.MaxSimInput:
		return nil, bulwark.Errorf(bulwark.ETOOLARGE, "scenario: %d bytes; at most %d (pick nodes by kind, zone or CVE rather than listing them)", len(req.Scenario), bulwark.MaxSimInput)
	case len(req.Options) > bulwark.MaxSimInput:
		return nil, bulwark.Errorf(bulwark.ETOOLARGE, "options: %d bytes; at most %d", len(req.Options), bulwark.MaxSimInput)
	case !utf8.ValidString(req.Scenario) || !utf8.ValidString(req.Options):
		return nil, bulwark.Errorf(bulwark.EINVALID, "the scenario and the options must be UTF-8 text")
	case req.Kind == bulwark.SimInvest && strings.TrimSpace(req.Options) == "":
		return nil, bulwark.Errorf(bulwark.EINVALID, "options: an invest run compares investment options: give an options file")
	case req.Kind == bulwark.SimSimulate && strings.TrimSpace(req.Options) != "":
		return nil, bulwark.Errorf(bulwark.EINVALID, "options: a simulate run takes no options (use kind invest to compare them)")
	}
	sc, err := sim.ParseScenario(strings.NewReader(req.Scenario), "scenario.yaml")
	if err != nil {
		return nil, err
	}
	p := &parsed{scenario: sc}
	if req.Kind == bulwark.SimInvest {
		if p.options, err = sim.ParseOptions(strings.NewReader(req.Options), "options.yaml"); err != nil {
			return nil, err
		}
		if len(p.options) > MaxOptions {
			return nil, bulwark.Errorf(bulwark.EINVALID, "options.yaml: %d options; at most %d in one run", len(p.options), MaxOptions)
		}
	}
	return p, nil
}

// Submit checks a request, stores the run and queues its job.
func (s *Service) Submit(ctx context.Context, req Request) (*bulwark.SimRun, error) {
	if _, err := s.authorize(ctx, "run simulations"); err != nil {
		return nil, err
	}
	p, err := check(&req)
	if err != nil {
		return nil, err
	}
	if s.q == nil {
		return nil, bulwark.Errorf(bulwark.EUNAVAILABLE, "simulations run in the background of bulwark serve; this process has no job queue")
	}
	run := &bulwark.SimRun{Kind: req.Kind, Name: bulwark.Truncate(p.scenario.Name, 200), Scenario: req.Scenario, Options: req.Options,
		Trials: req.Trials, Seed: req.Seed, Crews: req.Crews, Total: int64(req.Trials) * int64(1+len(p.options))}
	if err := s.st.CreateSimRun(ctx, run); err != nil {
		return nil, err
	}
	if err := s.enqueue(ctx, run); err != nil {
		return nil, err
	}
	return run, nil
}

// Get returns a run of the caller's organization.
func (s *Service) Get(ctx context.Context, id string) (*bulwark.SimRun, error) {
	return s.st.FindSimRun(ctx, id)
}

// List lists the caller's organization's runs, newest first.
func (s *Service) List(ctx context.Context, f bulwark.SimRunFilter) ([]bulwark.SimRun, error) {
	return s.st.ListSimRuns(ctx, f)
}

// Cancel cancels a queued or running run; its job stops within a second.
func (s *Service) Cancel(ctx context.Context, id string) (*bulwark.SimRun, error) {
	r, err := s.st.CancelSimRun(ctx, id)
	if err != nil {
		return nil, err
	}
	if s.q != nil && r.JobID != 0 {
		s.cancelJob(ctx, r.JobID)
	}
	return r, nil
}

// Outcome reads a finished run's result.
func (s *Service) Outcome(ctx context.Context, id string) (*bulwark.SimRun, *Outcome, error) {
	r, err := s.st.FindSimRun(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	if r.Status != bulwark.SimDone {
		return r, nil, nil
	}
	o, err := DecodeOutcome(r.Result)
	if err != nil {
		return nil, nil, fmt.Errorf("simulation %s: %w", id, err)
	}
	return r, o, nil
}
