package sqlstore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"

	"bulwark"
)

// Limits on what one assessment result, catalog or profile may hold: an
// assessor's notes are paragraphs, not documents, and evidence is a list
// of pointers, not the evidence itself.
const (
	maxNotes          = 10_000
	maxEvidence       = 50
	maxEvidenceField  = 2_000
	maxCatalogBytes   = 16 << 20
	maxCatalogControl = 20_000
	maxRequirements   = 2_000
	maxIndicators     = 64
)

// PutCatalog stores or replaces a catalog. Only the System principal may
// write a built-in catalog; an organization's admin may import others.
func (db *DB) PutCatalog(ctx context.Context, c *bulwark.Catalog) error {
	if !bulwark.ValidID(c.ID) {
		return bulwark.Errorf(bulwark.EINVALID, "catalog id %q: use 1-128 letters, digits, '.', '_', ':' or '-'", bulwark.Truncate(c.ID, 140))
	}
	if len(c.Controls) == 0 || len(c.Controls) > maxCatalogControl {
		return bulwark.Errorf(bulwark.EINVALID, "catalog %s has %d controls; between 1 and %d are accepted", c.ID, len(c.Controls), maxCatalogControl)
	}
	body, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("encode catalog: %w", err)
	}
	if len(body) > maxCatalogBytes {
		return bulwark.Errorf(bulwark.ETOOLARGE, "catalog %s is %d bytes encoded; at most %d are stored", c.ID, len(body), maxCatalogBytes)
	}
	n := 0
	for _, ctl := range c.Controls {
		if ctl.Assessable {
			n++
		}
	}
	return db.inWrite(ctx, func(q querier) error {
		sc, err := db.scopeOf(ctx, q)
		if err != nil {
			return err
		}
		if !sc.all && sc.p.Role != bulwark.RoleAdmin {
			return bulwark.Errorf(bulwark.EFORBIDDEN, "import catalog: only an administrator may")
		}
		var builtin bool
		err = q.QueryRowContext(ctx, "SELECT builtin FROM catalogs WHERE id = $1", c.ID).Scan(&builtin)
		if err != nil && err != sql.ErrNoRows {
			return db.d.mapErr("store catalog", err)
		}
		if (builtin || c.Builtin) && !sc.all {
			return bulwark.Errorf(bulwark.EFORBIDDEN, "catalog %s is built in; it cannot be replaced", c.ID)
		}
		_, err = q.ExecContext(ctx, `INSERT INTO catalogs (id, title, version, kind, builtin, assessable, body, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
			ON CONFLICT (id) DO UPDATE SET title = excluded.title, version = excluded.version, kind = excluded.kind,
				builtin = excluded.builtin, assessable = excluded.assessable, body = excluded.body, updated_at = excluded.updated_at`,
			c.ID, bulwark.Truncate(c.Title, 500), bulwark.Truncate(c.Version, 100), c.Kind, boolInt(c.Builtin), n, string(body), micros(db.now()))
		if err != nil {
			return db.d.mapErr("store catalog", err)
		}
		return db.appendAudit(ctx, q, bulwark.AuditEntry{Org: sc.auditOrg(), Actor: sc.actor(), Action: "catalog.put",
			Target: "catalog:" + c.ID, Outcome: "ok", Detail: fmt.Sprintf("%s %s, %d controls", bulwark.Truncate(c.Title, 200), bulwark.Truncate(c.Version, 50), len(c.Controls))})
	})
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// FindCatalog returns a catalog; every signed-in caller may read catalogs.
func (db *DB) FindCatalog(ctx context.Context, id string) (*bulwark.Catalog, error) {
	var out *bulwark.Catalog
	err := db.inRead(ctx, func(q querier) error {
		if _, err := principal(ctx); err != nil {
			return err
		}
		var body string
		err := q.QueryRowContext(ctx, "SELECT body FROM catalogs WHERE id = $1", id).Scan(&body)
		if err == sql.ErrNoRows {
			return bulwark.Errorf(bulwark.ENOTFOUND, "catalog %q not found", bulwark.Truncate(id, 128))
		}
		if err != nil {
			return db.d.mapErr("read catalog", err)
		}
		var c bulwark.Catalog
		if err := json.Unmarshal([]byte(body), &c); err != nil {
			return fmt.Errorf("decode catalog %s: %w", id, err)
		}
		out = &c
		return nil
	})
	return out, err
}

// ListCatalogs lists every catalog by ID.
func (db *DB) ListCatalogs(ctx context.Context) ([]bulwark.CatalogSummary, error) {
	var out []bulwark.CatalogSummary
	err := db.inRead(ctx, func(q querier) error {
		if _, err := principal(ctx); err != nil {
			return err
		}
		rows, err := q.QueryContext(ctx, "SELECT id, title, version, kind, builtin, assessable FROM catalogs ORDER BY id")
		if err != nil {
			return db.d.mapErr("list catalogs", err)
		}
		defer rows.Close()
		for rows.Next() {
			var c bulwark.CatalogSummary
			var builtin int
			if err := rows.Scan(&c.ID, &c.Title, &c.Version, &c.Kind, &builtin, &c.Assessable); err != nil {
				return db.d.mapErr("list catalogs", err)
			}
			c.Builtin = builtin != 0
			out = append(out, c)
		}
		return db.d.mapErr("list catalogs", rows.Err())
	})
	return out, err
}

// newID returns prefix followed by 16 random hex digits.
func newID(prefix string) string {
	var b [8]byte
	rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// CreateAssessment starts an assessment of an organization, or of one of
// its services or systems, by that organization's writers. The catalog
// must exist. a.ID, CreatedAt and UpdatedAt are filled in.
func (db *DB) CreateAssessment(ctx context.Context, a *bulwark.Assessment) error {
	if len(a.Title) > 500 {
		return bulwark.Errorf(bulwark.EINVALID, "assessment title is %d bytes; at most 500", len(a.Title))
	}
	return db.inWrite(ctx, func(q querier) error {
		sc, err := db.scopeOf(ctx, q)
		if err != nil {
			return err
		}
		if err := sc.canWrite("create assessment"); err != nil {
			return err
		}
		var one int
		err = q.QueryRowContext(ctx, "SELECT 1 FROM catalogs WHERE id = $1", a.Catalog).Scan(&one)
		if err == sql.ErrNoRows {
			return bulwark.Errorf(bulwark.ENOTFOUND, "catalog %q not found", bulwark.Truncate(a.Catalog, 128))
		}
		if err != nil {
			return db.d.mapErr("create assessment", err)
		}
		var owner string
		switch kind, _ := bulwark.ParseNodeKind(a.ScopeKind); {
		case a.ScopeKind == bulwark.ScopeOrganization:
			err = q.QueryRowContext(ctx, "SELECT id FROM organizations WHERE id = $1", a.Scope).Scan(&owner)
		case kind == bulwark.KindService || kind == bulwark.KindSystem:
			err = q.QueryRowContext(ctx, "SELECT owner FROM entities WHERE id = $1 AND kind = $2", a.Scope, int(kind)).Scan(&owner)
		default:
			return bulwark.Errorf(bulwark.EINVALID, "an assessment is of an organization, a service or a system, not %q", bulwark.Truncate(a.ScopeKind, 40))
		}
		if err == sql.ErrNoRows || (err == nil && !sc.sees(owner)) {
			return bulwark.Errorf(bulwark.ENOTFOUND, "%s %q not found", a.ScopeKind, bulwark.Truncate(a.Scope, 128))
		}
		if err != nil {
			return db.d.mapErr("create assessment", err)
		}
		if !sc.owns(owner) {
			return bulwark.Errorf(bulwark.EFORBIDDEN, "%s %s belongs to %s; only its own organization assesses it", a.ScopeKind, a.Scope, owner)
		}
		now := db.now()
		a.ID, a.Owner, a.CreatedAt, a.UpdatedAt, a.Results = newID("asm-"), owner, now, now, nil
		_, err = q.ExecContext(ctx, `INSERT INTO assessments (id, owner, catalog, scope_kind, scope, title, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, a.ID, owner, a.Catalog, a.ScopeKind, a.Scope, a.Title, micros(now), micros(now))
		if err != nil {
			return db.d.mapErr("create assessment", err)
		}
		return db.appendAudit(ctx, q, bulwark.AuditEntry{Org: sc.auditOrg(), Actor: sc.actor(), Action: "assessment.create",
			Target: "assessment:" + a.ID, Outcome: "ok", Detail: fmt.Sprintf("%s %s against %s", a.ScopeKind, a.Scope, a.Catalog)})
	})
}

const assessmentCols = "id, owner, catalog, scope_kind, scope, title, created_at, updated_at"

func scanAssessment(sc interface{ Scan(...any) error }) (*bulwark.Assessment, error) {
	var a bulwark.Assessment
	var created, updated int64
	if err := sc.Scan(&a.ID, &a.Owner, &a.Catalog, &a.ScopeKind, &a.Scope, &a.Title, &created, &updated); err != nil {
		return nil, err
	}
	a.CreatedAt, a.UpdatedAt = fromMicros(created), fromMicros(updated)
	return &a, nil
}

const resultCols = "control, rev, status, current_tier, target_tier, notes, evidence, assessor, at"

func scanResult(sc interface{ Scan(...any) error }, extra ...any) (bulwark.ControlResult, error) {
	var r bulwark.ControlResult
	var status, evidence string
	var at int64
	dest := append(extra, &r.Control, &r.Rev, &status, &r.CurrentTier, &r.TargetTier, &r.Notes, &evidence, &r.Assessor, &at)
	if err := sc.Scan(dest...); err != nil {
		return r, err
	}
	r.Status, r.At = bulwark.ImplStatus(status), fromMicros(at)
	if evidence != "" && evidence != "null" {
		if err := json.Unmarshal([]byte(evidence), &r.Evidence); err != nil {
			return r, fmt.Errorf("decode evidence of %s: %w", r.Control, err)
		}
	}
	return r, nil
}

// findAssessment reads the row of a visible assessment.
func (db *DB) findAssessment(ctx context.Context, q querier, sc scope, id string) (*bulwark.Assessment, error) {
	a, err := scanAssessment(q.QueryRowContext(ctx, "SELECT "+assessmentCols+" FROM assessments WHERE id = $1", id))
	if err == sql.ErrNoRows || (err == nil && !sc.sees(a.Owner)) {
		return nil, bulwark.Errorf(bulwark.ENOTFOUND, "assessment %q not found", bulwark.Truncate(id, 128))
	}
	if err != nil {
		return nil, db.d.mapErr("read assessment", err)
	}
	return a, nil
}

// FindAssessment returns an assessment with the current result of each
// control, in control order of the rows (callers order by catalog).
func (db *DB) FindAssessment(ctx context.Context, id string) (*bulwark.Assessment, error) {
	var out *bulwark.Assessment
	err := db.inRead(ctx, func(q querier) error {
		sc, err := db.scopeOf(ctx, q)
		if err != nil {
			return err
		}
		a, err := db.findAssessment(ctx, q, sc, id)
		if err != nil {
			return err
		}
		res, err := db.results(ctx, q, []string{a.ID}, time.Time{})
		if err != nil {
			return err
		}
		a.Results = res[a.ID]
		out = a
		return nil
	})
	return out, err
}

// results reads the current (or as of asOf) result of each control of the
// given assessments.
func (db *DB) results(ctx context.Context, q querier, ids []string, asOf time.Time) (map[string][]bulwark.ControlResult, error) {
	out := map[string][]bulwark.ControlResult{}
	for _, ch := range chunks(len(ids), 500) {
		a := db.d.newArgs()
		where := "assessment_id IN " + a.list(ids[ch[0]:ch[1]])
		if !asOf.IsZero() {
			where += " AND at <= " + a.add(micros(asOf))
		}
		rows, err := q.QueryContext(ctx, "SELECT assessment_id, "+resultCols+" FROM assessment_results WHERE "+where+
			" ORDER BY assessment_id, control, rev", a.v...)
		if err != nil {
			return nil, db.d.mapErr("read assessment results", err)
		}
		for rows.Next() {
			var aid string
			r, err := scanResult(rows, &aid)
			if err != nil {
				rows.Close()
				return nil, db.d.mapErr("read assessment results", err)
			}
			list := out[aid]
			// Rows come by control then rev: a later rev replaces the last.
			if n := len(list); n > 0 && list[n-1].Control == r.Control {
				list[n-1] = r
			} else {
				list = append(list, r)
			}
			out[aid] = list
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, db.d.mapErr("read assessment results", err)
		}
	}
	return out, nil
}

func (db *DB) assessmentWhere(sc scope, f bulwark.AssessmentFilter) (string, args) {
	a := db.d.newArgs()
	var conds []string
	if c := sc.filter(&a, "owner"); c != "" {
		conds = append(conds, c)
	}
	if f.Owner != "" {
		conds = append(conds, "owner = "+a.add(f.Owner))
	}
	if f.Catalog != "" {
		conds = append(conds, "catalog = "+a.add(f.Catalog))
	}
	if f.Scope != "" {
		conds = append(conds, "scope = "+a.add(f.Scope))
	}
	if len(conds) == 0 {
		return "", a
	}
	return " WHERE " + strings.Join(conds, " AND "), a
}

// ListAssessments lists the visible assessments f selects, newest change
// first.
func (db *DB) ListAssessments(ctx context.Context, f bulwark.AssessmentFilter) ([]bulwark.AssessmentSummary, error) {
	var out []bulwark.AssessmentSummary
	err := db.inRead(ctx, func(q querier) error {
		sc, err := db.scopeOf(ctx, q)
		if err != nil {
			return err
		}
		where, a := db.assessmentWhere(sc, f)
		rows, err := q.QueryContext(ctx, "SELECT "+assessmentCols+
			", (SELECT COUNT(DISTINCT control) FROM assessment_results r WHERE r.assessment_id = assessments.id) FROM assessments"+
			where+" ORDER BY updated_at DESC, id", a.v...)
		if err != nil {
			return db.d.mapErr("list assessments", err)
		}
		defer rows.Close()
		for rows.Next() {
			var s bulwark.AssessmentSummary
			var created, updated int64
			if err := rows.Scan(&s.ID, &s.Owner, &s.Catalog, &s.ScopeKind, &s.Scope, &s.Title, &created, &updated, &s.Assessed); err != nil {
				return db.d.mapErr("list assessments", err)
			}
			s.UpdatedAt = fromMicros(updated)
			out = append(out, s)
		}
		return db.d.mapErr("list assessments", rows.Err())
	})
	return out, err
}

// EachAssessment streams the visible assessments f selects with their
// results now (asOf zero) or as they stood at asOf.
func (db *DB) EachAssessment(ctx context.Context, f bulwark.AssessmentFilter, asOf time.Time, fn func(*bulwark.Assessment) error) error {
	return db.inRead(ctx, func(q querier) error {
		sc, err := db.scopeOf(ctx, q)
		if err != nil {
			return err
		}
		where, a := db.assessmentWhere(sc, f)
		rows, err := q.QueryContext(ctx, "SELECT "+assessmentCols+" FROM assessments"+where+" ORDER BY id", a.v...)
		if err != nil {
			return db.d.mapErr("read assessments", err)
		}
		var list []*bulwark.Assessment
		for rows.Next() {
			as, err := scanAssessment(rows)
			if err != nil {
				rows.Close()
				return db.d.mapErr("read assessments", err)
			}
			if asOf.IsZero() || !as.CreatedAt.After(asOf) {
				list = append(list, as)
			}
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return db.d.mapErr("read assessments", err)
		}
		ids := make([]string, len(list))
		for i, as := range list {
			ids[i] = as.ID
		}
		res, err := db.results(ctx, q, ids, asOf)
		if err != nil {
			return err
		}
		for _, as := range list {
			as.Results = res[as.ID]
			if err := fn(as); err != nil {
				return err
			}
		}
		return nil
	})
}

// checkResult validates a change's fields (the service checks that the
// control is in the catalog).
func checkResult(c bulwark.ResultChange) error {
	if c.Control == "" || len(c.Control) > 128 {
		return bulwark.Errorf(bulwark.EINVALID, "control: an ID of 1 to 128 bytes is required")
	}
	if !c.Status.Valid() {
		return bulwark.Errorf(bulwark.EINVALID, "status %q: use not_implemented, partial, implemented or not_applicable", bulwark.Truncate(string(c.Status), 40))
	}
	for name, t := range map[string]int{"current_tier": c.CurrentTier, "target_tier": c.TargetTier} {
		if t < 0 || t > bulwark.MaxTier {
			return bulwark.Errorf(bulwark.EINVALID, "%s %d: tiers run from 1 (partial) to 4 (adaptive); 0 leaves it unset", name, t)
		}
	}
	if c.BaseRev < 0 {
		return bulwark.Errorf(bulwark.EINVALID, "base_rev %d is negative", c.BaseRev)
	}
	if len(c.Notes) > maxNotes {
		return bulwark.Errorf(bulwark.ETOOLARGE, "notes are %d bytes; at most %d", len(c.Notes), maxNotes)
	}
	if len(c.Evidence) > maxEvidence {
		return bulwark.Errorf(bulwark.ETOOLARGE, "%d pieces of evidence; at most %d per control", len(c.Evidence), maxEvidence)
	}
	for i, e := range c.Evidence {
		if err := checkEvidence(e); err != nil {
			return bulwark.Errorf(bulwark.EINVALID, "evidence[%d]: %s", i, bulwark.ErrorMessage(err))
		}
	}
	return nil
}

func checkEvidence(e bulwark.Evidence) error {
	if len(e.Title) > maxEvidenceField || len(e.URL) > maxEvidenceField {
		return bulwark.Errorf(bulwark.ETOOLARGE, "title and url are limited to %d bytes", maxEvidenceField)
	}
	switch e.Kind {
	case "link":
		u, err := url.Parse(e.URL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return bulwark.Errorf(bulwark.EINVALID, "a link needs an http(s) URL with a host")
		}
	case "note":
		if e.Title == "" {
			return bulwark.Errorf(bulwark.EINVALID, "a note needs a title (its text)")
		}
	case "file":
		if len(e.SHA256) != 64 || strings.Trim(strings.ToLower(e.SHA256), "0123456789abcdef") != "" {
			return bulwark.Errorf(bulwark.EINVALID, "a file needs its SHA-256 as 64 hex digits")
		}
		if e.Title == "" || e.Size < 0 {
			return bulwark.Errorf(bulwark.EINVALID, "a file needs its name and a non-negative size")
		}
	default:
		return bulwark.Errorf(bulwark.EINVALID, "kind %q: use link, note or file", bulwark.Truncate(e.Kind, 40))
	}
	return nil
}

// SetResult records a new revision of one control's result. BaseRev must
// be the current revision (0 when the control has none): a change made
// from a stale view is refused with ECONFLICT, naming who changed it.
func (db *DB) SetResult(ctx context.Context, assessmentID string, c bulwark.ResultChange) (*bulwark.ControlResult, error) {
	if err := checkResult(c); err != nil {
		return nil, err
	}
	var out *bulwark.ControlResult
	err := db.inWrite(ctx, func(q querier) error {
		sc, err := db.scopeOf(ctx, q)
		if err != nil {
			return err
		}
		a, err := db.findAssessment(ctx, q, sc, assessmentID)
		if err != nil {
			return err
		}
		if !sc.owns(a.Owner) {
			return bulwark.Errorf(bulwark.EFORBIDDEN, "assessment %s belongs to %s", a.ID, a.Owner)
		}
		if err := sc.canWrite("change assessment"); err != nil {
			return err
		}
		cur, err := scanResult(q.QueryRowContext(ctx, "SELECT "+resultCols+" FROM assessment_results WHERE assessment_id = $1 AND control = $2 ORDER BY rev DESC LIMIT 1", a.ID, c.Control))
		if err != nil && err != sql.ErrNoRows {
			return db.d.mapErr("change assessment", err)
		}
		if cur.Rev != c.BaseRev {
			return conflict(a.ID, c.Control, c.BaseRev, cur)
		}
		evidence, err := json.Marshal(c.Evidence)
		if err != nil {
			return fmt.Errorf("encode evidence: %w", err)
		}
		r := bulwark.ControlResult{Control: c.Control, Status: c.Status, CurrentTier: c.CurrentTier, TargetTier: c.TargetTier,
			Notes: c.Notes, Evidence: c.Evidence, Assessor: sc.actor(), At: db.now(), Rev: cur.Rev + 1}
		_, err = q.ExecContext(ctx, "INSERT INTO assessment_results (assessment_id, "+resultCols+") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
			a.ID, r.Control, r.Rev, string(r.Status), r.CurrentTier, r.TargetTier, r.Notes, string(evidence), r.Assessor, micros(r.At))
		if err != nil {
			if db.d.isUnique(err) {
				// Another change from the same base committed first.
				return bulwark.Errorf(bulwark.ECONFLICT, "%s of assessment %s was changed by someone else at the same time; reload and apply your change again", c.Control, a.ID)
			}
			return db.d.mapErr("change assessment", err)
		}
		if _, err := q.ExecContext(ctx, "UPDATE assessments SET updated_at = $1 WHERE id = $2", micros(r.At), a.ID); err != nil {
			return db.d.mapErr("change assessment", err)
		}
		out = &r
		return db.appendAudit(ctx, q, bulwark.AuditEntry{Org: sc.auditOrg(), Actor: sc.actor(), Action: "assessment.result",
			Target: "assessment:" + a.ID, Outcome: "ok", Detail: fmt.Sprintf("%s rev %d: %s (tier %d/%d)", c.Control, r.Rev, statusWord(r.Status), r.CurrentTier, r.TargetTier)})
	})
	return out, err
}

func statusWord(s bulwark.ImplStatus) string {
	if s == bulwark.StatusNotAssessed {
		return "not assessed"
	}
	return string(s)
}

func conflict(id, control string, base int, cur bulwark.ControlResult) error {
	if cur.Rev == 0 {
		return bulwark.Errorf(bulwark.ECONFLICT, "%s of assessment %s has no revision %d; reload it", control, id, base)
	}
	return bulwark.Errorf(bulwark.ECONFLICT, "%s of assessment %s was changed by %s at %s (now revision %d: %s); your change was based on revision %d — reload and apply it again",
		control, id, cur.Assessor, cur.At.Format(time.RFC3339), cur.Rev, statusWord(cur.Status), base)
}

// ResultHistory lists every revision of one control, oldest first.
func (db *DB) ResultHistory(ctx context.Context, assessmentID, control string) ([]bulwark.ControlResult, error) {
	var out []bulwark.ControlResult
	err := db.inRead(ctx, func(q querier) error {
		sc, err := db.scopeOf(ctx, q)
		if err != nil {
			return err
		}
		if _, err := db.findAssessment(ctx, q, sc, assessmentID); err != nil {
			return err
		}
		rows, err := q.QueryContext(ctx, "SELECT "+resultCols+" FROM assessment_results WHERE assessment_id = $1 AND control = $2 ORDER BY rev", assessmentID, control)
		if err != nil {
			return db.d.mapErr("read result history", err)
		}
		defer rows.Close()
		for rows.Next() {
			r, err := scanResult(rows)
			if err != nil {
				return db.d.mapErr("read result history", err)
			}
			out = append(out, r)
		}
		return db.d.mapErr("read result history", rows.Err())
	})
	return out, err
}

// PutProfile stores or replaces a profile of the caller's organization.
func (db *DB) PutProfile(ctx context.Context, p *bulwark.Profile) error {
	if !bulwark.ValidID(p.ID) {
		return bulwark.Errorf(bulwark.EINVALID, "profile id %q: use 1-128 letters, digits, '.', '_', ':' or '-'", bulwark.Truncate(p.ID, 140))
	}
	if len(p.Requirements) > maxRequirements {
		return bulwark.Errorf(bulwark.ETOOLARGE, "profile has %d requirements; at most %d", len(p.Requirements), maxRequirements)
	}
	if len(p.Name) > 500 || len(p.Description) > maxNotes {
		return bulwark.Errorf(bulwark.EINVALID, "profile name (500 bytes) or description (%d bytes) too long", maxNotes)
	}
	return db.inWrite(ctx, func(q querier) error {
		sc, err := db.scopeOf(ctx, q)
		if err != nil {
			return err
		}
		if err := sc.canWrite("publish profile"); err != nil {
			return err
		}
		if p.Owner == "" && !sc.all {
			p.Owner = sc.p.Org
		}
		if !sc.owns(p.Owner) {
			return bulwark.Errorf(bulwark.EFORBIDDEN, "a profile is published by your own organization, not %s", p.Owner)
		}
		var cur string
		err = q.QueryRowContext(ctx, "SELECT owner FROM profiles WHERE id = $1", p.ID).Scan(&cur)
		if err != nil && err != sql.ErrNoRows {
			return db.d.mapErr("publish profile", err)
		}
		if err == nil && !sc.owns(cur) {
			return bulwark.Errorf(bulwark.ECONFLICT, "profile id %s is taken by another organization's profile", p.ID)
		}
		var one int
		if err := q.QueryRowContext(ctx, "SELECT 1 FROM catalogs WHERE id = $1", p.Catalog).Scan(&one); err != nil {
			if err == sql.ErrNoRows {
				return bulwark.Errorf(bulwark.ENOTFOUND, "catalog %q not found", bulwark.Truncate(p.Catalog, 128))
			}
			return db.d.mapErr("publish profile", err)
		}
		p.UpdatedAt = db.now()
		body, err := json.Marshal(p)
		if err != nil {
			return fmt.Errorf("encode profile: %w", err)
		}
		_, err = q.ExecContext(ctx, `INSERT INTO profiles (id, owner, body, updated_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (id) DO UPDATE SET owner = excluded.owner, body = excluded.body, updated_at = excluded.updated_at`,
			p.ID, p.Owner, string(body), micros(p.UpdatedAt))
		if err != nil {
			return db.d.mapErr("publish profile", err)
		}
		return db.appendAudit(ctx, q, bulwark.AuditEntry{Org: sc.auditOrg(), Actor: sc.actor(), Action: "profile.put",
			Target: "profile:" + p.ID, Outcome: "ok", Detail: fmt.Sprintf("%s: %d requirements of %s, applies to %s", bulwark.Truncate(p.Name, 200), len(p.Requirements), p.Catalog, p.AppliesTo)})
	})
}

// FindProfile returns a profile; profiles are published to every
// signed-in caller.
func (db *DB) FindProfile(ctx context.Context, id string) (*bulwark.Profile, error) {
	var out *bulwark.Profile
	err := db.inRead(ctx, func(q querier) error {
		if _, err := principal(ctx); err != nil {
			return err
		}
		var body string
		err := q.QueryRowContext(ctx, "SELECT body FROM profiles WHERE id = $1", id).Scan(&body)
		if err == sql.ErrNoRows {
			return bulwark.Errorf(bulwark.ENOTFOUND, "profile %q not found", bulwark.Truncate(id, 128))
		}
		if err != nil {
			return db.d.mapErr("read profile", err)
		}
		var p bulwark.Profile
		if err := json.Unmarshal([]byte(body), &p); err != nil {
			return fmt.Errorf("decode profile %s: %w", id, err)
		}
		out = &p
		return nil
	})
	return out, err
}

// ListProfiles lists every profile by ID.
func (db *DB) ListProfiles(ctx context.Context) ([]bulwark.Profile, error) {
	var out []bulwark.Profile
	err := db.inRead(ctx, func(q querier) error {
		if _, err := principal(ctx); err != nil {
			return err
		}
		rows, err := q.QueryContext(ctx, "SELECT body FROM profiles ORDER BY id")
		if err != nil {
			return db.d.mapErr("list profiles", err)
		}
		defer rows.Close()
		for rows.Next() {
			var body string
			if err := rows.Scan(&body); err != nil {
				return db.d.mapErr("list profiles", err)
			}
			var p bulwark.Profile
			if err := json.Unmarshal([]byte(body), &p); err != nil {
				return fmt.Errorf("decode profile: %w", err)
			}
			out = append(out, p)
		}
		return db.d.mapErr("list profiles", rows.Err())
	})
	return out, err
}

// DeleteProfile removes a profile of the caller's organization.
func (db *DB) DeleteProfile(ctx context.Context, id string) error {
	return db.inWrite(ctx, func(q querier) error {
		sc, err := db.scopeOf(ctx, q)
		if err != nil {
			return err
		}
		var owner string
		err = q.QueryRowContext(ctx, "SELECT owner FROM profiles WHERE id = $1", id).Scan(&owner)
		if err == sql.ErrNoRows {
			return bulwark.Errorf(bulwark.ENOTFOUND, "profile %q not found", bulwark.Truncate(id, 128))
		}
		if err != nil {
			return db.d.mapErr("delete profile", err)
		}
		if !sc.owns(owner) {
			return bulwark.Errorf(bulwark.EFORBIDDEN, "profile %s is published by %s", id, owner)
		}
		if err := sc.canWrite("delete profile"); err != nil {
			return err
		}
		if _, err := q.ExecContext(ctx, "DELETE FROM profiles WHERE id = $1", id); err != nil {
			return db.d.mapErr("delete profile", err)
		}
		return db.appendAudit(ctx, q, bulwark.AuditEntry{Org: sc.auditOrg(), Actor: sc.actor(), Action: "profile.delete",
			Target: "profile:" + id, Outcome: "ok"})
	})
}

// AppendIndexSnapshots records computed readiness indexes. Only the System
// principal writes them: the index is computed over every organization,
// by the process, not by one tenant.
func (db *DB) AppendIndexSnapshots(ctx context.Context, snaps []bulwark.IndexSnapshot) error {
	for _, s := range snaps {
		if len(s.Indicators) > maxIndicators {
			return bulwark.Errorf(bulwark.ETOOLARGE, "snapshot has %d indicators; at most %d", len(s.Indicators), maxIndicators)
		}
	}
	return db.inWrite(ctx, func(q querier) error {
		sc, err := db.scopeOf(ctx, q)
		if err != nil {
			return err
		}
		if !sc.all {
			return bulwark.Errorf(bulwark.EFORBIDDEN, "readiness snapshots are recorded by the system only")
		}
		for _, s := range snaps {
			ind, err := json.Marshal(s.Indicators)
			if err != nil {
				return fmt.Errorf("encode indicators: %w", err)
			}
			if _, err := q.ExecContext(ctx, "INSERT INTO index_snapshots (org, at, value, indicators) VALUES ($1, $2, $3, $4)",
				s.Org, micros(s.At), s.Index, string(ind)); err != nil {
				return db.d.mapErr("record readiness index", err)
			}
		}
		return nil
	})
}

// IndexHistory returns the newest limit snapshots of org, oldest first.
// The city-wide index (org "") is an aggregate every signed-in caller may
// read; an organization's only those who see that organization.
func (db *DB) IndexHistory(ctx context.Context, org string, limit int) ([]bulwark.IndexSnapshot, error) {
	if limit <= 0 || limit > 10_000 {
		limit = 10_000
	}
	var out []bulwark.IndexSnapshot
	err := db.inRead(ctx, func(q querier) error {
		sc, err := db.scopeOf(ctx, q)
		if err != nil {
			return err
		}
		if org != "" && !sc.sees(org) {
			return bulwark.Errorf(bulwark.ENOTFOUND, "organization %q not found", bulwark.Truncate(org, 128))
		}
		rows, err := q.QueryContext(ctx, "SELECT at, value, indicators FROM index_snapshots WHERE org = $1 ORDER BY at DESC, id DESC LIMIT $2", org, limit)
		if err != nil {
			return db.d.mapErr("read readiness history", err)
		}
		defer rows.Close()
		for rows.Next() {
			s := bulwark.IndexSnapshot{Org: org}
			var at int64
			var ind string
			if err := rows.Scan(&at, &s.Index, &ind); err != nil {
				return db.d.mapErr("read readiness history", err)
			}
			s.At = fromMicros(at)
			if err := json.Unmarshal([]byte(ind), &s.Indicators); err != nil {
				return fmt.Errorf("decode indicators: %w", err)
			}
			out = append(out, s)
		}
		return db.d.mapErr("read readiness history", rows.Err())
	})
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, err
}

// RemediationTimes lists, per finding of a visible organization first
// fixed (or verified) after since, the time from first seen to that
// first fix.
func (db *DB) RemediationTimes(ctx context.Context, since time.Time) ([]bulwark.RemediationTime, error) {
	var out []bulwark.RemediationTime
	err := db.inRead(ctx, func(q querier) error {
		sc, err := db.scopeOf(ctx, q)
		if err != nil {
			return err
		}
		a := db.d.newArgs()
		where := "e.to_status IN ('fixed', 'verified') AND e.at >= " + a.add(micros(since))
		if c := sc.filter(&a, "f.owner"); c != "" {
			where += " AND " + c
		}
		rows, err := q.QueryContext(ctx, `SELECT f.owner, f.decision, MIN(e.at) - f.first_seen
			FROM finding_events e JOIN findings f ON f.asset_id = e.asset_id AND f.vuln_id = e.vuln_id
			WHERE `+where+` GROUP BY f.asset_id, f.vuln_id, f.owner, f.decision, f.first_seen`, a.v...)
		if err != nil {
			return db.d.mapErr("read remediation times", err)
		}
		defer rows.Close()
		for rows.Next() {
			var r bulwark.RemediationTime
			var took int64
			if err := rows.Scan(&r.Owner, &r.Decision, &took); err != nil {
				return db.d.mapErr("read remediation times", err)
			}
			r.Took = max(time.Duration(took)*time.Microsecond, 0)
			out = append(out, r)
		}
		return db.d.mapErr("read remediation times", rows.Err())
	})
	return out, err
}
