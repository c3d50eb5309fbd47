package sqlstore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"bulwark"
)

// Training records concern people, so their scope is narrower than the
// city model's: a campaign is visible to its own organization alone (no
// sharing grant applies) and to the System principal.

// trainingSees reports whether the caller may see org's campaigns.
func trainingSees(p bulwark.Principal, org string) bool { return p.System || p.Org == org }

func trainingCanWrite(p bulwark.Principal, what string) error {
	if p.System || p.Role.CanWrite() {
		return nil
	}
	return bulwark.Errorf(bulwark.EFORBIDDEN, "%s: your role (%s) is read-only", what, p.Role)
}

func trainingActor(p bulwark.Principal) string {
	if p.Name != "" {
		return p.Name
	}
	if p.System {
		return "system"
	}
	return "user"
}

func trainingAuditOrg(p bulwark.Principal) string {
	if p.System {
		return ""
	}
	return p.Org
}

// day is the stored form of a date: Unix microseconds of its UTC midnight.
func day(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return micros(t.UTC().Truncate(24 * time.Hour))
}

// CreateCampaign adds a campaign of the caller's organization.
func (db *DB) CreateCampaign(ctx context.Context, c *bulwark.Campaign) error {
	p, err := principal(ctx)
	if err != nil {
		return err
	}
	if err := trainingCanWrite(p, "add a campaign"); err != nil {
		return err
	}
	if !p.System {
		c.Org = p.Org
	}
	if err := c.Validate(); err != nil {
		return err
	}
	c.Start = fromMicros(day(c.Start))
	c.Due = fromMicros(day(c.Due))
	return db.inWrite(ctx, func(q querier) error {
		var one int
		err := q.QueryRowContext(ctx, "SELECT 1 FROM organizations WHERE id = $1", c.Org).Scan(&one)
		if err == sql.ErrNoRows {
			return bulwark.Errorf(bulwark.EINVALID, "campaign organization %q is not an organization", bulwark.Truncate(c.Org, 128))
		}
		if err != nil {
			return db.d.mapErr("add a campaign", err)
		}
		if c.ID == "" {
			c.ID = newID("cmp-")
		}
		c.CreatedBy, c.CreatedAt = trainingActor(p), db.now().UTC().Truncate(time.Microsecond)
		_, err = q.ExecContext(ctx, `INSERT INTO training_campaigns (id, org, kind, title, audience, audience_size, course, start_day, due_day, created_by, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
			c.ID, c.Org, string(c.Kind), c.Title, c.Audience, c.AudienceSize, c.Course, day(c.Start), day(c.Due), c.CreatedBy, micros(c.CreatedAt))
		if err != nil {
			if db.d.isUnique(err) {
				return bulwark.Errorf(bulwark.ECONFLICT, "campaign id %s is already in use", c.ID)
			}
			return db.d.mapErr("add a campaign", err)
		}
		return db.appendAudit(ctx, q, bulwark.AuditEntry{Org: trainingAuditOrg(p), Actor: trainingActor(p), Action: "training.campaign.create",
			Target: "campaign:" + c.ID, Outcome: "ok", Detail: fmt.Sprintf("%s %s: %s", c.Org, c.Kind, bulwark.Truncate(c.Title, 200))})
	})
}

const campaignCols = "id, org, kind, title, audience, audience_size, course, start_day, due_day, created_by, created_at"

func scanCampaign(sc interface{ Scan(...any) error }) (bulwark.Campaign, error) {
	var c bulwark.Campaign
	var kind string
	var start, due, created int64
	err := sc.Scan(&c.ID, &c.Org, &kind, &c.Title, &c.Audience, &c.AudienceSize, &c.Course, &start, &due, &c.CreatedBy, &created)
	c.Kind, c.Start, c.Due, c.CreatedAt = bulwark.CampaignKind(kind), fromMicros(start), fromMicros(due), fromMicros(created)
	return c, err
}

// findCampaign reads a campaign the caller may see; an invisible one is
// "not found", exactly like a missing one.
func (db *DB) findCampaign(ctx context.Context, q querier, p bulwark.Principal, id string) (*bulwark.Campaign, error) {
	c, err := scanCampaign(q.QueryRowContext(ctx, "SELECT "+campaignCols+" FROM training_campaigns WHERE id = $1", id))
	if err == sql.ErrNoRows || (err == nil && !trainingSees(p, c.Org)) {
		return nil, bulwark.Errorf(bulwark.ENOTFOUND, "campaign %q not found", bulwark.Truncate(id, 128))
	}
	if err != nil {
		return nil, db.d.mapErr("read campaign", err)
	}
	return &c, nil
}

// FindCampaign returns a campaign of the caller's organization.
func (db *DB) FindCampaign(ctx context.Context, id string) (*bulwark.Campaign, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	var out *bulwark.Campaign
	err = db.inRead(ctx, func(q querier) error {
		out, err = db.findCampaign(ctx, q, p, id)
		return err
	})
	return out, err
}

// campaignWhere builds the condition of a campaign listing.
func (db *DB) campaignWhere(p bulwark.Principal, f bulwark.CampaignFilter, a *args, prefix string) string {
	var conds []string
	if !p.System {
		conds = append(conds, prefix+"org = "+a.add(p.Org))
	}
	if f.Org != "" {
		conds = append(conds, prefix+"org = "+a.add(f.Org))
	}
	if f.Kind != "" {
		conds = append(conds, prefix+"kind = "+a.add(string(f.Kind)))
	}
	if !f.Since.IsZero() {
		s := day(f.Since)
		conds = append(conds, "("+prefix+"start_day >= "+a.add(s)+" OR "+prefix+"due_day >= "+a.add(s)+")")
	}
	if len(conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(conds, " AND ")
}

// ListCampaigns lists the caller's campaigns, newest start first.
func (db *DB) ListCampaigns(ctx context.Context, f bulwark.CampaignFilter) ([]bulwark.Campaign, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	var out []bulwark.Campaign
	err = db.inRead(ctx, func(q querier) error {
		a := db.d.newArgs()
		rows, err := q.QueryContext(ctx, "SELECT "+campaignCols+" FROM training_campaigns"+db.campaignWhere(p, f, &a, "")+" ORDER BY start_day DESC, id", a.v...)
		if err != nil {
			return db.d.mapErr("list campaigns", err)
		}
		defer rows.Close()
		for rows.Next() {
			c, err := scanCampaign(rows)
			if err != nil {
				return db.d.mapErr("list campaigns", err)
			}
			out = append(out, c)
		}
		return db.d.mapErr("list campaigns", rows.Err())
	})
	return out, err
}

// DeleteCampaign removes a campaign and its records.
func (db *DB) DeleteCampaign(ctx context.Context, id string) error {
	p, err := principal(ctx)
	if err != nil {
		return err
	}
	return db.inWrite(ctx, func(q querier) error {
		c, err := db.findCampaign(ctx, q, p, id)
		if err != nil {
			return err
		}
		if err := trainingCanWrite(p, "delete a campaign"); err != nil {
			return err
		}
		var n int64
		for _, t := range []string{"training_completions", "training_phishing", "training_reach"} {
			res, err := q.ExecContext(ctx, "DELETE FROM "+t+" WHERE campaign = $1", id)
			if err != nil {
				return db.d.mapErr("delete a campaign", err)
			}
			k, _ := res.RowsAffected()
			n += k
		}
		if _, err := q.ExecContext(ctx, "DELETE FROM training_campaigns WHERE id = $1", id); err != nil {
			return db.d.mapErr("delete a campaign", err)
		}
		return db.appendAudit(ctx, q, bulwark.AuditEntry{Org: trainingAuditOrg(p), Actor: trainingActor(p), Action: "training.campaign.delete",
			Target: "campaign:" + id, Outcome: "ok", Detail: fmt.Sprintf("%s %s with %d record(s)", c.Org, c.Kind, n)})
	})
}

// TrainingKey returns org's pseudonymization key (32 random bytes),
// creating it on first use.
func (db *DB) TrainingKey(ctx context.Context, org string) ([]byte, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	if !trainingSees(p, org) {
		return nil, bulwark.Errorf(bulwark.EFORBIDDEN, "only %s may record its people's training", bulwark.Truncate(org, 128))
	}
	if err := trainingCanWrite(p, "record training"); err != nil {
		return nil, err
	}
	var key string
	err = db.inWrite(ctx, func(q querier) error {
		err := q.QueryRowContext(ctx, "SELECT key FROM training_keys WHERE org = $1", org).Scan(&key)
		if err == nil {
			return nil
		}
		if err != sql.ErrNoRows {
			return db.d.mapErr("read training key", err)
		}
		var one int
		if err := q.QueryRowContext(ctx, "SELECT 1 FROM organizations WHERE id = $1", org).Scan(&one); err == sql.ErrNoRows {
			return bulwark.Errorf(bulwark.EINVALID, "%q is not an organization", bulwark.Truncate(org, 128))
		} else if err != nil {
			return db.d.mapErr("read training key", err)
		}
		var b [32]byte
		if _, err := rand.Read(b[:]); err != nil {
			return fmt.Errorf("training key: %w", err)
		}
		if _, err := q.ExecContext(ctx, "INSERT INTO training_keys (org, key, created_at) VALUES ($1, $2, $3) ON CONFLICT (org) DO NOTHING",
			org, hex.EncodeToString(b[:]), micros(db.now())); err != nil {
			return db.d.mapErr("create training key", err)
		}
		return db.d.mapErr("read training key", q.QueryRowContext(ctx, "SELECT key FROM training_keys WHERE org = $1", org).Scan(&key))
	})
	if err != nil {
		return nil, err
	}
	b, err := hex.DecodeString(key)
	if err != nil {
		return nil, fmt.Errorf("training key of %s: %w", org, err)
	}
	return b, nil
}

// Caps of one import.
const (
	// MaxTrainingBatch bounds the records of one import (a city's largest
	// employer has tens of thousands of staff).
	MaxTrainingBatch = 500_000
	trainingChunk    = 200
)

func checkRecords(b bulwark.TrainingBatch, c *bulwark.Campaign) error {
	n := len(b.Completions) + len(b.Phishing)
	switch {
	case n > MaxTrainingBatch:
		return bulwark.Errorf(bulwark.ETOOLARGE, "an import holds at most %d records, this one %d", MaxTrainingBatch, n)
	case len(b.Completions) > 0 && c.Kind != bulwark.CampaignWorkforce:
		return bulwark.Errorf(bulwark.EINVALID, "campaign %s is a %s campaign: completion records belong to workforce campaigns", c.ID, c.Kind)
	case len(b.Phishing) > 0 && c.Kind != bulwark.CampaignPhishing:
		return bulwark.Errorf(bulwark.EINVALID, "campaign %s is a %s campaign: phishing results belong to phishing campaigns", c.ID, c.Kind)
	}
	for i, r := range b.Completions {
		if !bulwark.ValidPersonRef(r.Person) {
			return bulwark.Errorf(bulwark.EINVALID, "completion %d: person is not a pseudonym", i+1)
		}
		if r.Score != nil && !(*r.Score >= 0 && *r.Score <= bulwark.MaxTrainingScore) {
			return bulwark.Errorf(bulwark.EINVALID, "completion %d: score %v is not between 0 and %d", i+1, *r.Score, bulwark.MaxTrainingScore)
		}
	}
	for i, r := range b.Phishing {
		if !bulwark.ValidPersonRef(r.Person) {
			return bulwark.Errorf(bulwark.EINVALID, "phishing result %d: person is not a pseudonym", i+1)
		}
	}
	return nil
}

// PutTrainingRecords merges a batch into a campaign in one transaction.
func (db *DB) PutTrainingRecords(ctx context.Context, campaign string, b bulwark.TrainingBatch) (bulwark.TrainingImportStats, error) {
	var st bulwark.TrainingImportStats
	p, err := principal(ctx)
	if err != nil {
		return st, err
	}
	err = db.inWrite(ctx, func(q querier) error {
		st = bulwark.TrainingImportStats{}
		c, err := db.findCampaign(ctx, q, p, campaign)
		if err != nil {
			return err
		}
		if err := trainingCanWrite(p, "record training"); err != nil {
			return err
		}
		if err := checkRecords(b, c); err != nil {
			return err
		}
		if len(b.Completions) > 0 {
			if err := db.putCompletions(ctx, q, c.ID, b.Completions, &st); err != nil {
				return err
			}
		}
		if len(b.Phishing) > 0 {
			if err := db.putPhishing(ctx, q, c.ID, b.Phishing, &st); err != nil {
				return err
			}
		}
		return db.appendAudit(ctx, q, bulwark.AuditEntry{Org: trainingAuditOrg(p), Actor: trainingActor(p), Action: "training.import",
			Target: "campaign:" + c.ID, Outcome: "ok", Detail: fmt.Sprintf("%s: %d created, %d updated, %d unchanged", bulwark.Truncate(b.Source, 200), st.Created, st.Updated, st.Unchanged)})
	})
	return st, err
}

// earliestSQL merges a stored event time with an incoming one in the
// database, so that concurrent imports cannot lose an event: the earliest
// non-zero time wins (0 means none).
func earliestSQL(table, col string) string {
	return "CASE WHEN " + table + "." + col + " = 0 OR (excluded." + col + " > 0 AND excluded." + col + " < " + table + "." + col +
		") THEN excluded." + col + " ELSE " + table + "." + col + " END"
}

func floatPtrEqual(a, b *float64) bool {
	return (a == nil) == (b == nil) && (a == nil || *a == *b)
}

func (db *DB) putCompletions(ctx context.Context, q querier, campaign string, recs []bulwark.CompletionRecord, st *bulwark.TrainingImportStats) error {
	cur := map[bulwark.PersonRef]bulwark.CompletionRecord{}
	rows, err := q.QueryContext(ctx, "SELECT person, completed_at, score FROM training_completions WHERE campaign = $1", campaign)
	if err != nil {
		return db.d.mapErr("read completions", err)
	}
	for rows.Next() {
		var r bulwark.CompletionRecord
		var at int64
		var score sql.NullFloat64
		if err := rows.Scan(&r.Person, &at, &score); err != nil {
			rows.Close()
			return db.d.mapErr("read completions", err)
		}
		r.CompletedAt = fromMicros(at)
		if score.Valid {
			r.Score = &score.Float64
		}
		cur[r.Person] = r
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return db.d.mapErr("read completions", err)
	}
	// Merge the batch (a person may appear in it more than once) and keep
	// what changed.
	next := map[bulwark.PersonRef]bulwark.CompletionRecord{}
	var order []bulwark.PersonRef
	for _, r := range recs {
		r.CompletedAt = r.CompletedAt.UTC().Truncate(time.Microsecond)
		m, ok := next[r.Person]
		if !ok {
			if old, had := cur[r.Person]; had {
				m = old
			} else {
				m = bulwark.CompletionRecord{Person: r.Person}
			}
			order = append(order, r.Person)
		}
		m.Merge(r)
		next[r.Person] = m
	}
	var changed []bulwark.CompletionRecord
	for _, person := range order {
		m := next[person]
		old, had := cur[person]
		switch {
		case !had:
			st.Created++
		case old.CompletedAt.Equal(m.CompletedAt) && floatPtrEqual(old.Score, m.Score):
			st.Unchanged++
			continue
		default:
			st.Updated++
		}
		changed = append(changed, m)
	}
	// In key order: the primary key's B-tree is then filled page by page
	// instead of at random places (pseudonyms are random), which keeps a
	// large import within the page cache.
	slices.SortFunc(changed, func(a, b bulwark.CompletionRecord) int { return strings.Compare(string(a.Person), string(b.Person)) })
	for _, ch := range chunks(len(changed), trainingChunk) {
		part := changed[ch[0]:ch[1]]
		vals := make([]any, 0, 4*len(part))
		for _, r := range part {
			var score any
			if r.Score != nil {
				score = *r.Score
			}
			vals = append(vals, campaign, string(r.Person), micros(r.CompletedAt), score)
		}
		_, err := q.ExecContext(ctx, "INSERT INTO training_completions (campaign, person, completed_at, score) VALUES "+db.d.valuesSQL(len(part), 4)+
			" ON CONFLICT (campaign, person) DO UPDATE SET completed_at = "+earliestSQL("training_completions", "completed_at")+
			", score = COALESCE(excluded.score, training_completions.score)", vals...)
		if err != nil {
			return db.d.mapErr("store completions", err)
		}
	}
	return nil
}

func (db *DB) putPhishing(ctx context.Context, q querier, campaign string, recs []bulwark.PhishingResult, st *bulwark.TrainingImportStats) error {
	cur := map[bulwark.PersonRef]bulwark.PhishingResult{}
	rows, err := q.QueryContext(ctx, "SELECT person, sent_at, opened_at, clicked_at, submitted_at, reported_at FROM training_phishing WHERE campaign = $1", campaign)
	if err != nil {
		return db.d.mapErr("read phishing results", err)
	}
	for rows.Next() {
		var r bulwark.PhishingResult
		var t [5]int64
		if err := rows.Scan(&r.Person, &t[0], &t[1], &t[2], &t[3], &t[4]); err != nil {
			rows.Close()
			return db.d.mapErr("read phishing results", err)
		}
		r.SentAt, r.OpenedAt, r.ClickedAt, r.SubmittedAt, r.ReportedAt = fromMicros(t[0]), fromMicros(t[1]), fromMicros(t[2]), fromMicros(t[3]), fromMicros(t[4])
		cur[r.Person] = r
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return db.d.mapErr("read phishing results", err)
	}
	next := map[bulwark.PersonRef]bulwark.PhishingResult{}
	var order []bulwark.PersonRef
	for _, r := range recs {
		for _, t := range []*time.Time{&r.SentAt, &r.OpenedAt, &r.ClickedAt, &r.SubmittedAt, &r.ReportedAt} {
			*t = t.UTC().Truncate(time.Microsecond)
		}
		m, ok := next[r.Person]
		if !ok {
			if old, had := cur[r.Person]; had {
				m = old
			} else {
				m = bulwark.PhishingResult{Person: r.Person}
			}
			order = append(order, r.Person)
		}
		m.Merge(r)
		next[r.Person] = m
	}
	var changed []bulwark.PhishingResult
	for _, person := range order {
		m := next[person]
		old, had := cur[person]
		switch {
		case !had:
			st.Created++
		case old == m:
			st.Unchanged++
			continue
		default:
			st.Updated++
		}
		changed = append(changed, m)
	}
	slices.SortFunc(changed, func(a, b bulwark.PhishingResult) int { return strings.Compare(string(a.Person), string(b.Person)) })
	for _, ch := range chunks(len(changed), trainingChunk) {
		part := changed[ch[0]:ch[1]]
		vals := make([]any, 0, 7*len(part))
		for _, r := range part {
			vals = append(vals, campaign, string(r.Person), micros(r.SentAt), micros(r.OpenedAt), micros(r.ClickedAt), micros(r.SubmittedAt), micros(r.ReportedAt))
		}
		_, err := q.ExecContext(ctx, "INSERT INTO training_phishing (campaign, person, sent_at, opened_at, clicked_at, submitted_at, reported_at) VALUES "+db.d.valuesSQL(len(part), 7)+
			" ON CONFLICT (campaign, person) DO UPDATE SET sent_at = "+earliestSQL("training_phishing", "sent_at")+
			", opened_at = "+earliestSQL("training_phishing", "opened_at")+", clicked_at = "+earliestSQL("training_phishing", "clicked_at")+
			", submitted_at = "+earliestSQL("training_phishing", "submitted_at")+", reported_at = "+earliestSQL("training_phishing", "reported_at"), vals...)
		if err != nil {
			return db.d.mapErr("store phishing results", err)
		}
	}
	return nil
}

// AddCitizenReach appends reach entries to a citizen campaign.
func (db *DB) AddCitizenReach(ctx context.Context, campaign string, rs []bulwark.CitizenReach) error {
	p, err := principal(ctx)
	if err != nil {
		return err
	}
	if len(rs) == 0 || len(rs) > bulwark.MaxCitizenReachRows {
		return bulwark.Errorf(bulwark.EINVALID, "give 1 to %d reach entries", bulwark.MaxCitizenReachRows)
	}
	for i := range rs {
		if err := rs[i].Validate(); err != nil {
			return bulwark.Errorf(bulwark.EINVALID, "reach %d: %s", i+1, bulwark.ErrorMessage(err))
		}
	}
	return db.inWrite(ctx, func(q querier) error {
		c, err := db.findCampaign(ctx, q, p, campaign)
		if err != nil {
			return err
		}
		if err := trainingCanWrite(p, "record campaign reach"); err != nil {
			return err
		}
		if c.Kind != bulwark.CampaignCitizen {
			return bulwark.Errorf(bulwark.EINVALID, "campaign %s is a %s campaign: reach belongs to citizen campaigns", c.ID, c.Kind)
		}
		var seq int64
		if err := q.QueryRowContext(ctx, "SELECT COALESCE(MAX(seq), 0) FROM training_reach WHERE campaign = $1", c.ID).Scan(&seq); err != nil {
			return db.d.mapErr("record campaign reach", err)
		}
		var people int64
		for _, r := range rs {
			seq++
			people += r.People
			if _, err := q.ExecContext(ctx, "INSERT INTO training_reach (campaign, seq, channel, people, from_day, to_day) VALUES ($1, $2, $3, $4, $5, $6)",
				c.ID, seq, r.Channel, r.People, day(r.From), day(r.To)); err != nil {
				return db.d.mapErr("record campaign reach", err)
			}
		}
		return db.appendAudit(ctx, q, bulwark.AuditEntry{Org: trainingAuditOrg(p), Actor: trainingActor(p), Action: "training.reach",
			Target: "campaign:" + c.ID, Outcome: "ok", Detail: fmt.Sprintf("%d entr(ies), %d people", len(rs), people)})
	})
}

// ListCompletions lists a campaign's completion records by person.
func (db *DB) ListCompletions(ctx context.Context, campaign string) ([]bulwark.CompletionRecord, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	var out []bulwark.CompletionRecord
	err = db.inRead(ctx, func(q querier) error {
		if _, err := db.findCampaign(ctx, q, p, campaign); err != nil {
			return err
		}
		rows, err := q.QueryContext(ctx, "SELECT person, completed_at, score FROM training_completions WHERE campaign = $1 ORDER BY person", campaign)
		if err != nil {
			return db.d.mapErr("list completions", err)
		}
		defer rows.Close()
		for rows.Next() {
			r := bulwark.CompletionRecord{Campaign: campaign}
			var at int64
			var score sql.NullFloat64
			if err := rows.Scan(&r.Person, &at, &score); err != nil {
				return db.d.mapErr("list completions", err)
			}
			r.CompletedAt = fromMicros(at)
			if score.Valid {
				r.Score = &score.Float64
			}
			out = append(out, r)
		}
		return db.d.mapErr("list completions", rows.Err())
	})
	return out, err
}

// ListPhishingResults lists a campaign's phishing results by person.
func (db *DB) ListPhishingResults(ctx context.Context, campaign string) ([]bulwark.PhishingResult, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	var out []bulwark.PhishingResult
	err = db.inRead(ctx, func(q querier) error {
		if _, err := db.findCampaign(ctx, q, p, campaign); err != nil {
			return err
		}
		rows, err := q.QueryContext(ctx, "SELECT person, sent_at, opened_at, clicked_at, submitted_at, reported_at FROM training_phishing WHERE campaign = $1 ORDER BY person", campaign)
		if err != nil {
			return db.d.mapErr("list phishing results", err)
		}
		defer rows.Close()
		for rows.Next() {
			r := bulwark.PhishingResult{Campaign: campaign}
			var t [5]int64
			if err := rows.Scan(&r.Person, &t[0], &t[1], &t[2], &t[3], &t[4]); err != nil {
				return db.d.mapErr("list phishing results", err)
			}
			r.SentAt, r.OpenedAt, r.ClickedAt, r.SubmittedAt, r.ReportedAt = fromMicros(t[0]), fromMicros(t[1]), fromMicros(t[2]), fromMicros(t[3]), fromMicros(t[4])
			out = append(out, r)
		}
		return db.d.mapErr("list phishing results", rows.Err())
	})
	return out, err
}

// ListCitizenReach lists a campaign's reach entries in the order added.
func (db *DB) ListCitizenReach(ctx context.Context, campaign string) ([]bulwark.CitizenReach, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	var out []bulwark.CitizenReach
	err = db.inRead(ctx, func(q querier) error {
		if _, err := db.findCampaign(ctx, q, p, campaign); err != nil {
			return err
		}
		rows, err := q.QueryContext(ctx, "SELECT channel, people, from_day, to_day FROM training_reach WHERE campaign = $1 ORDER BY seq", campaign)
		if err != nil {
			return db.d.mapErr("list campaign reach", err)
		}
		defer rows.Close()
		for rows.Next() {
			r := bulwark.CitizenReach{Campaign: campaign}
			var from, to int64
			if err := rows.Scan(&r.Channel, &r.People, &from, &to); err != nil {
				return db.d.mapErr("list campaign reach", err)
			}
			r.From, r.To = fromMicros(from), fromMicros(to)
			out = append(out, r)
		}
		return db.d.mapErr("list campaign reach", rows.Err())
	})
	return out, err
}

// TallyCampaigns adds up the records of every visible campaign f selects
// in three grouped queries.
func (db *DB) TallyCampaigns(ctx context.Context, f bulwark.CampaignFilter) ([]bulwark.CampaignTally, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	var out []bulwark.CampaignTally
	err = db.inRead(ctx, func(q querier) error {
		out = out[:0]
		idx := map[string]int{}
		a := db.d.newArgs()
		where := db.campaignWhere(p, f, &a, "c.")
		rows, err := q.QueryContext(ctx, "SELECT "+prefixCols("c.", campaignCols)+" FROM training_campaigns c"+where+" ORDER BY c.start_day DESC, c.id", a.v...)
		if err != nil {
			return db.d.mapErr("tally campaigns", err)
		}
		for rows.Next() {
			c, err := scanCampaign(rows)
			if err != nil {
				rows.Close()
				return db.d.mapErr("tally campaigns", err)
			}
			idx[c.ID] = len(out)
			out = append(out, bulwark.CampaignTally{Campaign: c})
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return db.d.mapErr("tally campaigns", err)
		}
		if len(out) == 0 {
			return nil
		}
		// The end of the due day: due_day + one day (campaigns without a
		// due date count nothing as on time).
		const dayMicros = int64(24 * time.Hour / time.Microsecond)
		queries := []struct {
			sql  string
			into func(t *bulwark.CampaignTally) []any
		}{
			{fmt.Sprintf(`SELECT r.campaign, COUNT(*), SUM(CASE WHEN r.completed_at > 0 THEN 1 ELSE 0 END),
				SUM(CASE WHEN r.completed_at > 0 AND c.due_day > 0 AND r.completed_at < c.due_day + %d THEN 1 ELSE 0 END)
				FROM training_completions r JOIN training_campaigns c ON c.id = r.campaign%s GROUP BY r.campaign`, dayMicros, where),
				func(t *bulwark.CampaignTally) []any { return []any{&t.Assigned, &t.Completed, &t.OnTime} }},
			{`SELECT r.campaign, SUM(CASE WHEN r.sent_at > 0 THEN 1 ELSE 0 END), SUM(CASE WHEN r.opened_at > 0 THEN 1 ELSE 0 END),
				SUM(CASE WHEN r.clicked_at > 0 THEN 1 ELSE 0 END), SUM(CASE WHEN r.submitted_at > 0 THEN 1 ELSE 0 END),
				SUM(CASE WHEN r.reported_at > 0 THEN 1 ELSE 0 END)
				FROM training_phishing r JOIN training_campaigns c ON c.id = r.campaign` + where + ` GROUP BY r.campaign`,
				func(t *bulwark.CampaignTally) []any {
					return []any{&t.Sent, &t.Opened, &t.Clicked, &t.Submitted, &t.Reported}
				}},
			{`SELECT r.campaign, CAST(SUM(r.people) AS BIGINT) FROM training_reach r JOIN training_campaigns c ON c.id = r.campaign` + where + ` GROUP BY r.campaign`,
				func(t *bulwark.CampaignTally) []any { return []any{&t.Reach} }},
		}
		for _, qq := range queries {
			rows, err := q.QueryContext(ctx, qq.sql, a.v...)
			if err != nil {
				return db.d.mapErr("tally campaigns", err)
			}
			for rows.Next() {
				var id string
				var tmp bulwark.CampaignTally
				dst := append([]any{&id}, qq.into(&tmp)...)
				if err := rows.Scan(dst...); err != nil {
					rows.Close()
					return db.d.mapErr("tally campaigns", err)
				}
				if i, ok := idx[id]; ok {
					t := &out[i]
					t.Assigned += tmp.Assigned
					t.Completed += tmp.Completed
					t.OnTime += tmp.OnTime
					t.Sent += tmp.Sent
					t.Opened += tmp.Opened
					t.Clicked += tmp.Clicked
					t.Submitted += tmp.Submitted
					t.Reported += tmp.Reported
					t.Reach += tmp.Reach
				}
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return db.d.mapErr("tally campaigns", err)
			}
		}
		return nil
	})
	return out, err
}

func prefixCols(prefix, cols string) string {
	parts := strings.Split(cols, ", ")
	for i := range parts {
		parts[i] = prefix + parts[i]
	}
	return strings.Join(parts, ", ")
}

// ForgetPerson removes every record of one person in org's campaigns.
func (db *DB) ForgetPerson(ctx context.Context, org string, person bulwark.PersonRef) (int64, error) {
	p, err := principal(ctx)
	if err != nil {
		return 0, err
	}
	if !trainingSees(p, org) {
		return 0, bulwark.Errorf(bulwark.EFORBIDDEN, "only %s may remove its people's training records", bulwark.Truncate(org, 128))
	}
	if err := trainingCanWrite(p, "remove training records"); err != nil {
		return 0, err
	}
	if !bulwark.ValidPersonRef(person) {
		return 0, bulwark.Errorf(bulwark.EINVALID, "person is not a pseudonym")
	}
	var n int64
	err = db.inWrite(ctx, func(q querier) error {
		n = 0
		for _, t := range []string{"training_completions", "training_phishing"} {
			res, err := q.ExecContext(ctx, "DELETE FROM "+t+" WHERE person = $1 AND campaign IN (SELECT id FROM training_campaigns WHERE org = $2)", string(person), org)
			if err != nil {
				return db.d.mapErr("remove training records", err)
			}
			k, _ := res.RowsAffected()
			n += k
		}
		return db.appendAudit(ctx, q, bulwark.AuditEntry{Org: trainingAuditOrg(p), Actor: trainingActor(p), Action: "training.forget",
			Target: "org:" + org, Outcome: "ok", Detail: fmt.Sprintf("one person's records removed: %d", n)})
	})
	return n, err
}
