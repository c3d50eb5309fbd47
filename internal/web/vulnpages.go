package web

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"bulwark"
	"bulwark/internal/httperr"
	"bulwark/internal/ssvc"
	"bulwark/internal/vulns"
)

// Pages of vulnerability intelligence: findings, one finding with its
// lifecycle form, one vulnerability, the feeds and the advisories. All of
// them read through the store with the caller's principal, so findings are
// scoped to the organizations the caller sees; vulnerabilities are public
// intelligence.

const (
	// findingsPerPage is the page size of the findings list.
	findingsPerPage = 50
	// findingsShown caps the findings tables of asset and vulnerability
	// pages.
	findingsShown = 100
	// advisoriesShown caps the advisories page: they come most urgent
	// first, and a city-wide list can run to thousands.
	advisoriesShown = 20
	// maxParam bounds every query parameter of these pages: identifiers
	// are at most bulwark.MaxIDLen, and anything much longer is refused.
	maxParam = 2 * bulwark.MaxIDLen
)

// decisions are the SSVC decisions, most urgent first.
var decisions = []bulwark.SSVCDecision{bulwark.SSVCAct, bulwark.SSVCAttend, bulwark.SSVCTrackStar, bulwark.SSVCTrack}

// findingStatuses are the lifecycle statuses in lifecycle order.
var findingStatuses = []bulwark.FindingStatus{bulwark.FindingOpen, bulwark.FindingInRemediation, bulwark.FindingFixed,
	bulwark.FindingVerified, bulwark.FindingAccepted}

// nextSteps mirrors the store's lifecycle so that the form offers only
// the steps the store will take; the store still decides.
var nextSteps = map[bulwark.FindingStatus][]bulwark.FindingStatus{
	bulwark.FindingOpen:          {bulwark.FindingInRemediation, bulwark.FindingFixed, bulwark.FindingAccepted},
	bulwark.FindingInRemediation: {bulwark.FindingOpen, bulwark.FindingFixed, bulwark.FindingAccepted},
	bulwark.FindingFixed:         {bulwark.FindingOpen, bulwark.FindingVerified},
	bulwark.FindingVerified:      {bulwark.FindingOpen},
	bulwark.FindingAccepted:      {bulwark.FindingOpen, bulwark.FindingInRemediation, bulwark.FindingFixed, bulwark.FindingAccepted},
}

// maxAcceptance is how far ahead the form lets a risk be accepted (the
// store allows at most a year).
const maxAcceptance = 365 * 24 * time.Hour

func validDecision(d bulwark.SSVCDecision) bool { return slices.Contains(decisions, d) }

func validStatus(s bulwark.FindingStatus) bool { return slices.Contains(findingStatuses, s) }

// findingHref is the page of one finding.
func findingHref(asset, vuln string) string {
	return "/findings/" + url.PathEscape(asset) + "/" + url.PathEscape(vuln)
}

// vulnHref is the page of one vulnerability.
func vulnHref(id string) string { return "/vulnerabilities/" + url.PathEscape(id) }

// formatDate writes a date as YYYY-MM-DD, "" when unset.
func formatDate(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.DateOnly)
}

// formatTime writes an instant in UTC to the minute, "" when unset.
func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

// overdue reports whether a due date has passed.
func overdue(due, now time.Time) bool { return !due.IsZero() && due.Before(now) }

// boolParam reads a checkbox: absent or empty is false; "1", "on", "true"
// true; "0", "false" false; anything else is an error.
func boolParam(q url.Values, name string) (bool, error) {
	switch strings.ToLower(q.Get(name)) {
	case "":
		return false, nil
	case "1", "on", "true", "yes":
		return true, nil
	case "0", "off", "false", "no":
		return false, nil
	}
	return false, bulwark.Errorf(bulwark.EINVALID, "%s must be 1 or 0", name)
}

// checkParams refuses oversized query parameters and more than one value
// per parameter, before anything reads them.
func checkParams(q url.Values) error {
	for k, vs := range q {
		if len(k) > 32 || len(vs) > 1 {
			return bulwark.Errorf(bulwark.EINVALID, "unexpected query parameter %.32q", k)
		}
		if len(vs[0]) > maxParam {
			return bulwark.Errorf(bulwark.EINVALID, "the %s filter is too long (at most %d characters)", k, maxParam)
		}
	}
	return nil
}

// idParam reads an optional identifier parameter.
func idParam(q url.Values, name string) (string, error) {
	s := strings.TrimSpace(q.Get(name))
	if s != "" && !bulwark.ValidID(s) {
		return "", bulwark.Errorf(bulwark.EINVALID, "%s must be an identifier (letters, digits, '.', '_', ':', '-')", name)
	}
	return s, nil
}

// findingFilter reads the filters of /findings. Without the form marker
// f (a first visit or a plain link), only open findings are listed.
func findingFilter(q url.Values) (bulwark.FindingFilter, error) {
	f := bulwark.FindingFilter{Sort: "priority", Limit: findingsPerPage}
	if err := checkParams(q); err != nil {
		return f, err
	}
	var err error
	for _, p := range []struct {
		name string
		dst  *string
	}{{"owner", &f.Owner}, {"asset", &f.Asset}, {"vuln", &f.Vuln}} {
		if *p.dst, err = idParam(q, p.name); err != nil {
			return f, err
		}
	}
	f.Decision = bulwark.SSVCDecision(q.Get("decision"))
	if f.Decision != "" && !validDecision(f.Decision) {
		return f, bulwark.Errorf(bulwark.EINVALID, "decision must be Act, Attend, Track* or Track")
	}
	f.Status = bulwark.FindingStatus(q.Get("status"))
	if f.Status != "" && !validStatus(f.Status) {
		return f, bulwark.Errorf(bulwark.EINVALID, "status must be open, in_remediation, fixed, verified or accepted")
	}
	if f.KEV, err = boolParam(q, "kev"); err != nil {
		return f, err
	}
	if q.Get("f") == "" && q.Get("open") == "" {
		f.Open = true
	} else if f.Open, err = boolParam(q, "open"); err != nil {
		return f, err
	}
	if after := q.Get("after"); after != "" {
		n, err := strconv.Atoi(after)
		if err != nil || n < 0 || n > 10_000_000 {
			return f, bulwark.Errorf(bulwark.EINVALID, "after must be a page offset this site gave")
		}
		f.After = after
	}
	return f, nil
}

// assetExposure is what the open findings of one asset add up to.
type assetExposure struct {
	findings int
	worst    bulwark.SSVCDecision
}

// exposure summarizes the open findings the caller sees.
type exposure struct {
	view    ExposureView
	pairs   int                // distinct (vulnerability, owner) pairs: advisories
	byOwner map[string]*[4]int // counts in the order of decisions
	assets  map[string]*assetExposure
}

// loadExposure returns the summary of the open findings the caller sees
// (of one owner when owner is set), counted by the store.
func (h *Handler) loadExposure(ctx context.Context, p bulwark.Principal, owner string) (*exposure, error) {
	tallies, pairs, err := h.st.TallyFindings(ctx, bulwark.FindingFilter{Owner: owner, Open: true}, time.Now())
	if err != nil {
		return nil, fmt.Errorf("count findings: %w", err)
	}
	ex := &exposure{byOwner: map[string]*[4]int{}, assets: map[string]*assetExposure{}, pairs: int(pairs)}
	for _, t := range tallies {
		n := int(t.Count)
		ex.view.Open += n
		i := slices.Index(decisions, t.Decision)
		switch t.Decision {
		case bulwark.SSVCAct:
			ex.view.Act += n
		case bulwark.SSVCAttend:
			ex.view.Attend += n
		case bulwark.SSVCTrackStar:
			ex.view.TrackStar += n
		default:
			ex.view.Track += n
			i = 3
		}
		if t.Overdue {
			ex.view.Overdue += n
		}
		if t.KEV {
			ex.view.KEV += n
			if t.Overdue {
				ex.view.KEVOverdue += n
			}
		}
		c := ex.byOwner[t.Owner]
		if c == nil {
			c = new([4]int)
			ex.byOwner[t.Owner] = c
		}
		c[i] += n
		a := ex.assets[t.AssetID]
		if a == nil {
			a = &assetExposure{worst: t.Decision}
			ex.assets[t.AssetID] = a
		}
		a.findings += n
		if ssvc.Rank(t.Decision) > ssvc.Rank(a.worst) {
			a.worst = t.Decision
		}
	}
	ex.view.Assets = len(ex.assets)
	return ex, nil
}

// chartJSON is the stacked bar chart of open findings per owner and
// decision, owners with the most findings first.
func (ex *exposure) chartJSON() string {
	type series struct {
		Name   string `json:"name"`
		Values []int  `json:"values"`
	}
	chart := struct {
		Labels []string `json:"labels"`
		Series []series `json:"series"`
	}{Labels: []string{}, Series: []series{}}
	owners := make([]string, 0, len(ex.byOwner))
	total := map[string]int{}
	for o, c := range ex.byOwner {
		owners = append(owners, o)
		total[o] = c[0] + c[1] + c[2] + c[3]
	}
	slices.SortFunc(owners, func(a, b string) int {
		if d := total[b] - total[a]; d != 0 {
			return d
		}
		return strings.Compare(a, b)
	})
	if len(owners) > 30 {
		owners = owners[:30] // a readable chart; the table has everything
	}
	chart.Labels = append(chart.Labels, owners...)
	for i, d := range decisions {
		s := series{Name: string(d), Values: make([]int, 0, len(owners))}
		for _, o := range owners {
			s.Values = append(s.Values, ex.byOwner[o][i])
		}
		chart.Series = append(chart.Series, s)
	}
	b, _ := json.Marshal(chart)
	return string(b)
}

// findingRow formats one finding; gi names the asset when given.
func findingRow(gi *graphInfo, f *bulwark.Finding, now time.Time) FindingRow {
	row := FindingRow{
		Href:       findingHref(f.AssetID, f.VulnID),
		Decision:   string(f.Decision),
		Due:        formatDate(f.Due),
		Overdue:    overdue(f.Due, now) && (f.Status == bulwark.FindingOpen || f.Status == bulwark.FindingInRemediation),
		Vuln:       Link{ID: f.VulnID, Name: f.VulnID, Href: vulnHref(f.VulnID)},
		Asset:      Link{ID: f.AssetID, Name: f.AssetID, Href: entityHref("asset", f.AssetID)},
		Owner:      f.Owner,
		Status:     string(f.Status),
		Confidence: string(f.Confidence),
		KEV:        f.KEV,
	}
	if gi != nil {
		row.Asset = gi.link(f.AssetID)
	}
	return row
}

func (h *Handler) findings(w http.ResponseWriter, r *http.Request, p bulwark.Principal) {
	ctx := r.Context()
	q := r.URL.Query()
	f, err := findingFilter(q)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	list, err := h.st.ListFindings(ctx, f)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	owners, err := h.owners(ctx)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	ex, err := h.loadExposure(ctx, p, f.Owner)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	gi, err := h.loadGraph(ctx)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	page := &FindingsPage{
		Base:  h.base(r, p, "findings", "Findings"),
		Owner: f.Owner, Decision: string(f.Decision), Status: string(f.Status), Asset: f.Asset, Vuln: f.Vuln,
		KEV: f.KEV, Open: f.Open,
		Owners:  owners,
		Summary: ex.view,
		Chart:   ex.chartJSON(),
		First:   firstURL(r),
	}
	page.Charts = true
	for _, d := range decisions {
		page.Decisions = append(page.Decisions, string(d))
	}
	for _, s := range findingStatuses {
		page.Statuses = append(page.Statuses, string(s))
	}
	now := time.Now()
	for i := range list.Items {
		page.Rows = append(page.Rows, findingRow(gi, &list.Items[i], now))
	}
	if list.Next != "" {
		page.Next = pageURL(r.URL.Path, q, list.Next)
	}
	h.render(w, r, http.StatusOK, "findings", page)
}

// findingKey reads {asset} and {vuln}; a malformed one is a missing
// finding.
func findingKey(r *http.Request) (string, string, error) {
	asset, vuln := r.PathValue("asset"), r.PathValue("vuln")
	if !bulwark.ValidID(asset) || !bulwark.ValidID(vuln) {
		return "", "", bulwark.Errorf(bulwark.ENOTFOUND, "There is no such finding.")
	}
	return asset, vuln, nil
}

func (h *Handler) finding(w http.ResponseWriter, r *http.Request, p bulwark.Principal) {
	h.showFinding(w, r, p, http.StatusOK, nil, "")
}

// showFinding renders a finding's page; after a refused change, status is
// the refusal's, form holds what was posted and msg says why.
func (h *Handler) showFinding(w http.ResponseWriter, r *http.Request, p bulwark.Principal, status int, posted *FindingForm, msg string) {
	ctx := r.Context()
	assetID, vulnID, err := findingKey(r)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	f, err := h.vulns.Finding(ctx, assetID, vulnID)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	hist, err := h.st.FindingHistory(ctx, assetID, vulnID)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	gi, err := h.loadGraph(ctx)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	now := time.Now()
	page := &FindingPage{
		Base:           h.base(r, p, "findings", vulnID+" on "+assetID),
		Asset:          gi.link(assetID),
		Vuln:           Link{ID: vulnID, Name: vulnID, Href: vulnHref(vulnID)},
		Owner:          f.Owner,
		Status:         string(f.Status),
		Decision:       string(f.Decision),
		Inputs:         f.Inputs,
		Due:            formatDate(f.Due),
		Overdue:        overdue(f.Due, now) && (f.Status == bulwark.FindingOpen || f.Status == bulwark.FindingInRemediation),
		Confidence:     string(f.Confidence),
		KEV:            f.KEV,
		Evidence:       f.Evidence,
		FirstSeen:      formatTime(f.FirstSeen),
		LastSeen:       formatTime(f.LastSeen),
		Updated:        formatTime(f.UpdatedAt),
		AcceptedBy:     f.AcceptedBy,
		AcceptedReason: f.AcceptedReason,
		AcceptedUntil:  formatDate(f.AcceptedUntil),
		Error:          msg,
	}
	// The explanation is recomputed from the stored vulnerability and
	// asset; if that fails the rest of the page is still worth showing.
	if x, err := h.vulns.Explain(ctx, assetID, vulnID); err != nil {
		if status := httperr.StatusOf(err); status >= 500 {
			h.log.Error("web: explain", "asset", assetID, "vuln", vulnID, "err", err)
			page.ExplainError = "The match could not be explained right now."
		} else {
			page.ExplainError = bulwark.ErrorMessage(err)
		}
	} else {
		page.Explain = x
	}
	for _, e := range slices.Backward(hist) { // newest first
		page.History = append(page.History, EventRow{At: formatTime(e.At), Actor: e.Actor, From: string(e.From), To: string(e.To), Note: e.Note})
	}
	// Only the owner's analysts and administrators may change a finding;
	// the store enforces it, the page just does not offer a form that
	// would be refused.
	steps := nextSteps[f.Status]
	if p.Role.CanWrite() && (p.System || p.Org == f.Owner) && len(steps) > 0 {
		form := &FindingForm{Action: findingHref(assetID, vulnID), CSRF: page.CSRF,
			MinUntil: formatDate(now.Add(24 * time.Hour)), MaxUntil: formatDate(now.Add(maxAcceptance))}
		for _, s := range steps {
			form.Steps = append(form.Steps, string(s))
		}
		if posted != nil {
			form.Status, form.Note, form.AcceptedBy, form.Until = posted.Status, posted.Note, posted.AcceptedBy, posted.Until
		}
		page.Form = form
	}
	h.render(w, r, status, "finding", page)
}

// updateFinding takes one lifecycle step posted by the finding's form.
func (h *Handler) updateFinding(w http.ResponseWriter, r *http.Request, p bulwark.Principal) {
	if err := crossOrigin.Check(r); err != nil {
		http.Error(w, "cross-origin request rejected", http.StatusForbidden)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "the form is malformed or too large", http.StatusBadRequest)
		return
	}
	if h.auth == nil || !h.auth.CheckCSRF(r) {
		http.Error(w, "invalid or missing form token", http.StatusForbidden)
		return
	}
	assetID, vulnID, err := findingKey(r)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	posted := &FindingForm{
		Status:     strings.TrimSpace(r.PostFormValue("status")),
		Note:       strings.TrimSpace(r.PostFormValue("note")),
		AcceptedBy: strings.TrimSpace(r.PostFormValue("accepted_by")),
		Until:      strings.TrimSpace(r.PostFormValue("until")),
	}
	c := bulwark.FindingChange{Status: bulwark.FindingStatus(posted.Status), Note: posted.Note, AcceptedBy: posted.AcceptedBy}
	if posted.Until != "" && c.Status == bulwark.FindingAccepted {
		t, err := time.Parse(time.DateOnly, posted.Until)
		if err != nil {
			h.showFinding(w, r, p, http.StatusBadRequest, posted, "The expiry must be a date (YYYY-MM-DD).")
			return
		}
		// Accepted until the end of that day.
		c.Until = t.Add(24*time.Hour - time.Second)
	}
	if !validStatus(c.Status) {
		h.showFinding(w, r, p, http.StatusBadRequest, posted, "Choose the new status.")
		return
	}
	if _, err := h.st.UpdateFinding(r.Context(), assetID, vulnID, c); err != nil {
		switch bulwark.ErrorCode(err) {
		case bulwark.EINVALID, bulwark.EFORBIDDEN, bulwark.ECONFLICT, bulwark.ETOOLARGE:
			msg := bulwark.ErrorMessage(err)
			if bulwark.ErrorCode(err) == bulwark.EFORBIDDEN {
				msg = "You may not change this finding (only analysts and administrators of its owner may): " + msg
			}
			h.showFinding(w, r, p, httperr.StatusOf(err), posted, msg)
		default:
			h.fail(w, r, p, err)
		}
		return
	}
	http.Redirect(w, r, findingHref(assetID, vulnID)+"#history", http.StatusSeeOther)
}

func (h *Handler) vulnerability(w http.ResponseWriter, r *http.Request, p bulwark.Principal) {
	ctx := r.Context()
	id := r.PathValue("id")
	if !bulwark.ValidID(id) {
		h.fail(w, r, p, bulwark.Errorf(bulwark.ENOTFOUND, "There is no such vulnerability."))
		return
	}
	v, err := h.st.FindVulnerability(ctx, id)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	list, err := h.st.ListFindings(ctx, bulwark.FindingFilter{Vuln: v.ID, Sort: "priority", Limit: findingsShown})
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	gi, err := h.loadGraph(ctx)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	now := time.Now()
	page := &VulnerabilityPage{
		Base:         h.base(r, p, "findings", v.ID),
		ID:           v.ID,
		Aliases:      v.Aliases,
		Published:    formatDate(v.Published),
		Modified:     formatDate(v.Modified),
		Description:  v.Description,
		CWEs:         v.CWEs,
		CVSS:         v.CVSS,
		Remediations: v.Remediations,
		Affected:     v.Affected,
	}
	if k := v.KEV; k != nil {
		page.KEV = &KEVView{Name: k.Name, VendorProject: k.VendorProject, Product: k.Product, DateAdded: formatDate(k.DateAdded),
			Due: formatDate(k.DueDate), RequiredAction: k.RequiredAction, Notes: k.Notes, Overdue: overdue(k.DueDate, now), Ransomware: k.KnownRansomware}
	}
	if e := v.EPSS; e != nil {
		page.EPSS = &EPSSView{Score: strconv.FormatFloat(e.Score, 'f', 4, 64), Percentile: strconv.FormatFloat(e.Percentile*100, 'f', 1, 64) + "%",
			Date: formatDate(e.Date)}
	}
	if a := v.ADP; a != nil {
		page.ADP = &ADPView{Exploitation: a.Exploitation, Automatable: a.Automatable, TechnicalImpact: a.TechnicalImpact, Date: formatDate(a.Timestamp)}
	}
	for _, ref := range v.References {
		rv := RefView{URL: ref.URL, Tags: ref.Tags}
		if u, err := url.Parse(ref.URL); err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" {
			rv.Href = ref.URL
		}
		page.References = append(page.References, rv)
	}
	for _, n := range v.Configurations {
		page.Configurations = append(page.Configurations, configNode(n, 0))
	}
	for _, s := range v.Sources {
		hash := s.Hash
		if len(hash) > 12 {
			hash = hash[:12]
		}
		page.Sources = append(page.Sources, SourceRow{Source: s.Source, Document: s.Document, Fetched: formatTime(s.FetchedAt),
			Modified: formatTime(s.Modified), Hash: hash})
	}
	slices.SortStableFunc(page.Sources, func(a, b SourceRow) int { return cmp.Compare(a.Source, b.Source) })
	for i := range list.Items {
		page.Findings = append(page.Findings, findingRow(gi, &list.Items[i], now))
	}
	if list.Next != "" {
		page.MoreFindings = "/findings?f=1&vuln=" + url.QueryEscape(v.ID)
	}
	h.render(w, r, http.StatusOK, "vulnerability", page)
}

// maxConfigDepth bounds how deep a configuration is printed; NVD's are
// two levels, and a hostile feed record must not make the page recurse
// without end.
const maxConfigDepth = 8

func configNode(n bulwark.Node, depth int) ConfigNode {
	out := ConfigNode{Operator: string(n.Operator), Negate: n.Negate}
	if out.Operator == "" {
		out.Operator = string(bulwark.OR)
	}
	for _, m := range n.Matches {
		out.Matches = append(out.Matches, ConfigMatch{Criteria: m.Criteria, Vulnerable: m.Vulnerable, Range: versionRange(m)})
	}
	if depth < maxConfigDepth {
		for _, c := range n.Children {
			out.Children = append(out.Children, configNode(c, depth+1))
		}
	}
	return out
}

// versionRange writes the range fields of a criterion in words, for
// example "from 4.0 (including) up to 4.6 (excluding)".
func versionRange(m bulwark.CPEMatch) string {
	var parts []string
	switch {
	case m.VersionStartIncluding != "":
		parts = append(parts, "from "+m.VersionStartIncluding+" (including)")
	case m.VersionStartExcluding != "":
		parts = append(parts, "from "+m.VersionStartExcluding+" (excluding)")
	}
	switch {
	case m.VersionEndIncluding != "":
		parts = append(parts, "up to "+m.VersionEndIncluding+" (including)")
	case m.VersionEndExcluding != "":
		parts = append(parts, "up to "+m.VersionEndExcluding+" (excluding)")
	}
	return strings.Join(parts, " ")
}

func (h *Handler) feeds(w http.ResponseWriter, r *http.Request, p bulwark.Principal) {
	ctx := r.Context()
	srcs, err := h.st.FeedSources(ctx)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	version, err := h.st.FeedVersion(ctx)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	page := &FeedsPage{Base: h.base(r, p, "findings", "Vulnerability feeds"), Version: version}
	for _, s := range srcs {
		page.Sources = append(page.Sources, FeedRow{Source: s.Source, Records: s.Records, LastFetched: formatTime(s.LastFetched),
			LastModified: formatTime(s.LastModified)})
	}
	h.render(w, r, http.StatusOK, "feeds", page)
}

func (h *Handler) advisories(w http.ResponseWriter, r *http.Request, p bulwark.Principal) {
	ctx := r.Context()
	q := r.URL.Query()
	if err := checkParams(q); err != nil {
		h.fail(w, r, p, err)
		return
	}
	owner, err := idParam(q, "owner")
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	// Building every advisory of a city (thousands, each naming its
	// assets and services) takes the service tens of seconds, so the page
	// picks the most urgent (vulnerability, owner) pairs from the
	// priority-ordered findings and builds those advisories only. The
	// first finding of a pair in that order is its most urgent, so the
	// pairs come in the order the advisories sort in.
	type pair struct{ vuln, owner string }
	var pairs []pair
	seen := map[pair]bool{}
	f := bulwark.FindingFilter{Owner: owner, Open: true, Sort: "priority", Limit: bulwark.MaxPageSize}
	for {
		list, err := h.st.ListFindings(ctx, f)
		if err != nil {
			h.fail(w, r, p, err)
			return
		}
		for _, fd := range list.Items {
			k := pair{fd.VulnID, fd.Owner}
			if !seen[k] && len(pairs) < advisoriesShown {
				seen[k] = true
				pairs = append(pairs, k)
			}
		}
		if len(pairs) == advisoriesShown || list.Next == "" {
			break
		}
		f.After = list.Next
	}
	ex, err := h.loadExposure(ctx, p, owner)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	owners, err := h.owners(ctx)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	page := &AdvisoriesPage{Base: h.base(r, p, "findings", "Advisories"), Owner: owner, Owners: owners, Total: max(ex.pairs, len(pairs))}
	for _, k := range pairs {
		advs, err := h.vulns.Advisories(ctx, vulns.AdvisoryFilter{Owner: k.owner, Vuln: k.vuln})
		if err != nil {
			h.fail(w, r, p, err)
			return
		}
		page.Advisories = append(page.Advisories, advs...)
	}
	h.render(w, r, http.StatusOK, "advisories", page)
}

// assetFindings lists the findings of one asset, most urgent first.
func (h *Handler) assetFindings(ctx context.Context, assetID string) ([]FindingRow, bool, error) {
	list, err := h.st.ListFindings(ctx, bulwark.FindingFilter{Asset: assetID, Sort: "priority", Limit: findingsShown})
	if err != nil {
		return nil, false, fmt.Errorf("list findings of %s: %w", assetID, err)
	}
	now := time.Now()
	rows := make([]FindingRow, 0, len(list.Items))
	for i := range list.Items {
		rows = append(rows, findingRow(nil, &list.Items[i], now))
	}
	return rows, list.Next != "", nil
}

// markExposure adds the open findings to the nodes of a service's graph:
// assets get their count and worst decision; systems and services the
// number of exposed assets they depend on, directly or not; an aggregate
// of asset leaves the findings of the exposed leaves it stands for.
func (h *Handler) markExposure(ctx context.Context, p bulwark.Principal, gi *graphInfo, out *GraphJSON) error {
	ex, err := h.loadExposure(ctx, p, "")
	if err != nil {
		return err
	}
	if len(ex.assets) == 0 {
		return nil
	}
	// Walk up from every exposed asset over the visible graph (edges
	// reversed), counting each exposed asset once per ancestor.
	ids := make(map[int64]string, len(gi.data.Nodes))
	for _, n := range gi.data.Nodes {
		ids[n.Ref] = n.ID
	}
	up := map[string][]string{}
	type leafKey struct{ dep, kind, group string }
	leaves := map[leafKey][]string{} // direct asset dependencies per dependent and edge kind
	for _, e := range gi.data.Edges {
		from, to := ids[e.From], ids[e.To]
		if from == "" || to == "" {
			continue
		}
		up[to] = append(up[to], from)
		if _, ok := ex.assets[to]; ok {
			kind := string(e.Kind)
			if kind == "" {
				kind = string(bulwark.Hard)
			}
			k := leafKey{from, kind, e.Group}
			leaves[k] = append(leaves[k], to)
		}
	}
	through := map[string]int{}
	for asset := range ex.assets {
		seen := map[string]bool{asset: true}
		stack := []string{asset}
		for len(stack) > 0 {
			x := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			for _, y := range up[x] {
				if !seen[y] {
					seen[y] = true
					through[y]++
					stack = append(stack, y)
				}
			}
		}
	}
	shown := make(map[string]bool, len(out.Nodes))
	for _, n := range out.Nodes {
		shown[n.ID] = true
	}
	for i := range out.Nodes {
		n := &out.Nodes[i]
		if a, ok := ex.assets[n.ID]; ok {
			n.Findings, n.WorstDecision, n.ExposedAssets = a.findings, string(a.worst), 1
			continue
		}
		if dep, rest, agg := strings.Cut(n.ID, "/"); agg {
			kind, group, _ := strings.Cut(rest, "/")
			for _, leaf := range leaves[leafKey{dep, kind, group}] {
				if shown[leaf] {
					continue
				}
				a := ex.assets[leaf]
				n.Findings += a.findings
				n.ExposedAssets++
				if ssvc.Rank(a.worst) > ssvc.Rank(bulwark.SSVCDecision(n.WorstDecision)) {
					n.WorstDecision = string(a.worst)
				}
			}
			continue
		}
		n.ExposedAssets = through[n.ID]
	}
	return nil
}
