package training

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"time"

	"bulwark"
	"bulwark/internal/csvsafe"
)

// Service is training over a store. The store scopes everything to the
// caller's organization; the service checks roles first so that a viewer
// is refused before a file is read.
type Service struct {
	st  bulwark.Store
	log *slog.Logger
	now func() time.Time
}

// New returns a Service over st.
func New(st bulwark.Store, log *slog.Logger) *Service {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{st: st, log: log, now: time.Now}
}

// SetClock replaces the clock (tests, the demo).
func (s *Service) SetClock(now func() time.Time) { s.now = now }

// Now is the service's clock.
func (s *Service) Now() time.Time { return s.now() }

func canWrite(ctx context.Context, what string) error {
	p, ok := bulwark.PrincipalFrom(ctx)
	if !ok {
		return bulwark.Errorf(bulwark.EUNAUTHORIZED, "authentication required")
	}
	if p.System || p.Role.CanWrite() {
		return nil
	}
	return bulwark.Errorf(bulwark.EFORBIDDEN, "%s: your role (%s) is read-only", what, p.Role)
}

// View is a campaign with the counts of its records and its rates.
type View struct {
	bulwark.CampaignTally
	Audience   int64 `json:"audience_counted"`
	Due        bool  `json:"due_passed"`
	Completion Rate  `json:"completion"`
	Click      Rate  `json:"click"`
	Report     Rate  `json:"report"`
	Submit     Rate  `json:"submit"`
}

// ViewOf computes a campaign's view at now.
func ViewOf(t bulwark.CampaignTally, now time.Time) View {
	v := View{CampaignTally: t, Due: Due(&t.Campaign, now), Completion: CompletionRate(t), Click: ClickRate(t), Report: ReportRate(t), Submit: SubmitRate(t)}
	if t.Campaign.Kind == bulwark.CampaignWorkforce {
		v.Audience = Audience(t)
	}
	return v
}

// CreateCampaign adds a campaign of the caller's organization.
func (s *Service) CreateCampaign(ctx context.Context, c *bulwark.Campaign) error {
	if err := canWrite(ctx, "add a campaign"); err != nil {
		return err
	}
	return s.st.CreateCampaign(ctx, c)
}

// DeleteCampaign removes a campaign and its records.
func (s *Service) DeleteCampaign(ctx context.Context, id string) error {
	return s.st.DeleteCampaign(ctx, id)
}

// List lists the caller's campaigns f selects with their rates.
func (s *Service) List(ctx context.Context, f bulwark.CampaignFilter) ([]View, error) {
	ts, err := s.st.TallyCampaigns(ctx, f)
	if err != nil {
		return nil, err
	}
	now := s.now()
	out := make([]View, 0, len(ts))
	for _, t := range ts {
		out = append(out, ViewOf(t, now))
	}
	return out, nil
}

// Campaign returns one campaign with its rates and, for a citizen
// campaign, its reach by channel.
func (s *Service) Campaign(ctx context.Context, id string) (View, []bulwark.CitizenReach, error) {
	c, err := s.st.FindCampaign(ctx, id)
	if err != nil {
		return View{}, nil, err
	}
	ts, err := s.st.TallyCampaigns(ctx, bulwark.CampaignFilter{Org: c.Org, Kind: c.Kind})
	if err != nil {
		return View{}, nil, err
	}
	for _, t := range ts {
		if t.Campaign.ID == id {
			var reach []bulwark.CitizenReach
			if c.Kind == bulwark.CampaignCitizen {
				if reach, err = s.st.ListCitizenReach(ctx, id); err != nil {
					return View{}, nil, err
				}
			}
			return ViewOf(t, s.now()), reach, nil
		}
	}
	return View{}, nil, bulwark.Errorf(bulwark.ENOTFOUND, "campaign %q not found", clip(id))
}

// Result is what an import did.
type Result struct {
	Campaign string `json:"campaign"`
	Rows     int    `json:"rows"`
	bulwark.TrainingImportStats
	// Ignored names the columns of the file that were not read.
	Ignored []string `json:"ignored_columns,omitempty"`
}

// pseudonymizer returns the function that turns identifiers of the
// campaign's organization into references.
func (s *Service) pseudonymizer(ctx context.Context, c *bulwark.Campaign) (func(string) bulwark.PersonRef, error) {
	key, err := s.st.TrainingKey(ctx, c.Org)
	if err != nil {
		return nil, err
	}
	return func(n string) bulwark.PersonRef { return bulwark.Pseudonymize(key, n) }, nil
}

// Kind of file an import reads.
const (
	Completions = "completions"
	Phishing    = "phishing"
)

// Import reads a CSV export (kind Completions or Phishing) and merges it
// into a campaign of the caller's organization, all or nothing.
func (s *Service) Import(ctx context.Context, campaign, kind, name string, rd io.Reader, opt ReadOptions) (Result, error) {
	if err := canWrite(ctx, "import training records"); err != nil {
		return Result{}, err
	}
	c, err := s.st.FindCampaign(ctx, campaign)
	if err != nil {
		return Result{}, err
	}
	want := map[string]bulwark.CampaignKind{Completions: bulwark.CampaignWorkforce, Phishing: bulwark.CampaignPhishing}[kind]
	if want == "" {
		return Result{}, bulwark.Errorf(bulwark.EINVALID, "import %q: use completions or phishing", clip(kind))
	}
	if c.Kind != want {
		return Result{}, bulwark.Errorf(bulwark.EINVALID, "campaign %s is a %s campaign: %s go into %s campaigns", c.ID, c.Kind, kind, want)
	}
	if opt.Pseudonymize, err = s.pseudonymizer(ctx, c); err != nil {
		return Result{}, err
	}
	var rd2 *Read
	if kind == Completions {
		rd2, err = ReadCompletions(name, rd, opt)
	} else {
		rd2, err = ReadPhishing(name, rd, opt)
	}
	if err != nil {
		return Result{}, err
	}
	st, err := s.st.PutTrainingRecords(ctx, c.ID, bulwark.TrainingBatch{Completions: rd2.Completions, Phishing: rd2.Phishing, Source: name})
	if err != nil {
		return Result{}, err
	}
	return Result{Campaign: c.ID, Rows: rd2.Rows, TrainingImportStats: st, Ignored: rd2.Ignored}, nil
}

// Entry is one completion entered by hand (or through the API): the
// person's identifier, which is pseudonymized at once.
type Entry struct {
	Person      string
	CompletedAt time.Time
	Score       *float64
}

// MaxEntries bounds the entries of one request.
const MaxEntries = 1000

// Record merges completions entered by hand into a workforce campaign.
func (s *Service) Record(ctx context.Context, campaign string, es []Entry) (Result, error) {
	if err := canWrite(ctx, "record training"); err != nil {
		return Result{}, err
	}
	if len(es) == 0 || len(es) > MaxEntries {
		return Result{}, bulwark.Errorf(bulwark.EINVALID, "give 1 to %d completions", MaxEntries)
	}
	c, err := s.st.FindCampaign(ctx, campaign)
	if err != nil {
		return Result{}, err
	}
	pseudo, err := s.pseudonymizer(ctx, c)
	if err != nil {
		return Result{}, err
	}
	now := s.now()
	var probs []bulwark.Problem
	recs := make([]bulwark.CompletionRecord, 0, len(es))
	for i, e := range es {
		n := bulwark.NormalizePerson(e.Person)
		switch {
		case n == "":
			probs = append(probs, bulwark.Problem{Field: fmt.Sprintf("completions[%d].person", i), Message: "an e-mail address or staff number of at most 320 bytes is required"})
			continue
		case e.CompletedAt.After(now.Add(24 * time.Hour)):
			probs = append(probs, bulwark.Problem{Field: fmt.Sprintf("completions[%d].completed_at", i), Message: "is in the future"})
			continue
		case e.Score != nil && !(*e.Score >= 0 && *e.Score <= bulwark.MaxTrainingScore):
			probs = append(probs, bulwark.Problem{Field: fmt.Sprintf("completions[%d].score", i), Message: "use 0 to 100"})
			continue
		}
		recs = append(recs, bulwark.CompletionRecord{Person: pseudo(n), CompletedAt: e.CompletedAt, Score: e.Score})
	}
	if len(probs) > 0 {
		e := bulwark.Errorf(bulwark.EINVALID, "%d problem(s), nothing recorded; first: %s", len(probs), probs[0])
		e.Details = probs
		return Result{}, e
	}
	st, err := s.st.PutTrainingRecords(ctx, c.ID, bulwark.TrainingBatch{Completions: recs, Source: "entered"})
	if err != nil {
		return Result{}, err
	}
	return Result{Campaign: c.ID, Rows: len(recs), TrainingImportStats: st}, nil
}

// AddReach records the reach of a citizen campaign.
func (s *Service) AddReach(ctx context.Context, campaign string, rs []bulwark.CitizenReach) error {
	if err := canWrite(ctx, "record campaign reach"); err != nil {
		return err
	}
	return s.st.AddCitizenReach(ctx, campaign, rs)
}

// Forget removes every training record of the person identified in the
// caller's organization (the System principal names the organization).
func (s *Service) Forget(ctx context.Context, org, identifier string) (int64, error) {
	if err := canWrite(ctx, "remove training records"); err != nil {
		return 0, err
	}
	if p, _ := bulwark.PrincipalFrom(ctx); !p.System {
		org = p.Org
	}
	n := bulwark.NormalizePerson(identifier)
	if n == "" {
		return 0, bulwark.Errorf(bulwark.EINVALID, "an e-mail address or staff number is required")
	}
	key, err := s.st.TrainingKey(ctx, org)
	if err != nil {
		return 0, err
	}
	return s.st.ForgetPerson(ctx, org, bulwark.Pseudonymize(key, n))
}

// Dashboard is the training overview the caller may see: rates per
// organization over the last year, month by month, and the totals.
type Dashboard struct {
	Now    time.Time   `json:"now"`
	Months []string    `json:"months"`
	Total  Totals      `json:"total"`
	ByOrg  []OrgTotals `json:"by_org"`
	Series []Series    `json:"series"`
}

// Rates computes the dashboard over the caller's campaigns (f narrows
// them) for the last months months (1–120, default 12).
func (s *Service) Rates(ctx context.Context, f bulwark.CampaignFilter, months int) (*Dashboard, error) {
	if months <= 0 {
		months = 12
	}
	months = min(months, 120)
	now := s.now().UTC()
	f.Since = now.AddDate(0, -months, -1)
	if w := now.Add(-Window - 24*time.Hour); w.Before(f.Since) {
		f.Since = w
	}
	ts, err := s.st.TallyCampaigns(ctx, f)
	if err != nil {
		return nil, err
	}
	return &Dashboard{Now: now, Months: Months(now, months), Total: Pool(ts, now, Window, nil), ByOrg: ByOrg(ts, now, Window), Series: OverTime(ts, now, months)}, nil
}

// WriteCSV writes campaigns and their rates as CSV. Cells that a
// spreadsheet would read as a formula (starting with =, +, -, @, a tab or
// a carriage return) are prefixed with ' so that a campaign title such as
// "=HYPERLINK(…)" stays text.
func WriteCSV(w io.Writer, vs []View) error {
	cw := csv.NewWriter(w)
	pct := func(r Rate) string {
		if !r.Measured {
			return ""
		}
		return strconv.FormatFloat(100*r.Value, 'f', 1, 64)
	}
	day := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.Format(time.DateOnly)
	}
	if err := cw.Write([]string{"id", "org", "kind", "title", "audience", "course", "start", "due", "audience_counted", "completed", "completed_on_time",
		"completion_rate_pct", "sent", "opened", "clicked", "submitted", "reported", "click_rate_pct", "report_rate_pct", "reach"}); err != nil {
		return err
	}
	for _, v := range vs {
		c := v.Campaign
		row := []string{c.ID, c.Org, string(c.Kind), c.Title, c.Audience, c.Course, day(c.Start), day(c.Due),
			strconv.FormatInt(v.Audience, 10), strconv.FormatInt(v.Completed, 10), strconv.FormatInt(v.OnTime, 10), pct(v.Completion),
			strconv.FormatInt(v.Sent, 10), strconv.FormatInt(v.Opened, 10), strconv.FormatInt(v.Clicked, 10), strconv.FormatInt(v.Submitted, 10),
			strconv.FormatInt(v.Reported, 10), pct(v.Click), pct(v.Report), strconv.FormatInt(v.Reach, 10)}
		for i := range row {
			row[i] = csvsafe.Defuse(row[i])
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
