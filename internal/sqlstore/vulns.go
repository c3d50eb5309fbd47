package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"bulwark"
)

// feedLockKey is the PostgreSQL advisory lock that serializes feed imports
// ("bwfeeds" in ASCII), so that two imports never claim the same
// feed_version.
const feedLockKey = 0x6277666565647300

// canManageFeeds allows the System principal and administrators of a
// city-purview organization: feeds are city-wide intelligence, and a
// private operator's admin must not be able to rewrite what everyone's
// findings are computed from.
func (db *DB) canManageFeeds(ctx context.Context, q querier) error {
	p, err := principal(ctx)
	if err != nil {
		return err
	}
	if p.System {
		return nil
	}
	if p.Role != bulwark.RoleAdmin {
		return bulwark.Errorf(bulwark.EFORBIDDEN, "feeds: only administrators of a city organization may import feeds")
	}
	var purview string
	err = q.QueryRowContext(ctx, "SELECT purview FROM organizations WHERE id = $1", p.Org).Scan(&purview)
	if err != nil && err != sql.ErrNoRows {
		return db.d.mapErr("check feed rights", err)
	}
	if purview != string(bulwark.PurviewCity) {
		return bulwark.Errorf(bulwark.EFORBIDDEN, "feeds: only administrators of a city organization may import feeds")
	}
	return nil
}

type feedTx struct {
	db     *DB
	tx     *sql.Tx
	q      querier
	seq    int64 // the feed_version this import's changes get
	stats  bulwark.FeedStats
	actor  string
	err    error
	closed bool
}

// BeginFeed starts a feed import transaction.
func (db *DB) BeginFeed(ctx context.Context) (bulwark.FeedTx, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, db.d.mapErr("begin feed import", err)
	}
	q := cachedQ{c: db.wcache, pool: db.w, tx: tx}
	fail := func(err error) (bulwark.FeedTx, error) {
		tx.Rollback()
		return nil, err
	}
	if err := db.canManageFeeds(ctx, q); err != nil {
		return fail(err)
	}
	if db.d == postgresDialect {
		if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock("+strconv.FormatInt(feedLockKey, 10)+")"); err != nil {
			return fail(db.d.mapErr("begin feed import", err))
		}
	}
	var v int64
	if err := q.QueryRowContext(ctx, "SELECT version FROM feed_version WHERE id = 1").Scan(&v); err != nil {
		return fail(db.d.mapErr("begin feed import", err))
	}
	return &feedTx{db: db, tx: tx, q: q, seq: v + 1, actor: scope{p: p, all: p.System}.actor()}, nil
}

type storedRecord struct {
	hash     string
	modified int64
}

// PutRecords upserts records. A record whose hash equals the stored one is
// left alone; one whose source says it is older than what is stored is
// kept out (importing last year's bulk file after this week's changes
// must not undo them).
func (t *feedTx) PutRecords(ctx context.Context, recs []bulwark.VulnRecord) error {
	if t.err != nil {
		return t.err
	}
	if t.closed {
		return bulwark.Errorf(bulwark.EINVALID, "feed import already finished")
	}
	const batch = 400
	for len(recs) > 0 {
		n := min(batch, len(recs))
		if err := t.putBatch(ctx, recs[:n]); err != nil {
			t.err = err
			return err
		}
		recs = recs[n:]
	}
	return nil
}

func (t *feedTx) putBatch(ctx context.Context, recs []bulwark.VulnRecord) error {
	for i := range recs {
		r := &recs[i]
		if !bulwark.ValidID(r.Vuln.ID) {
			return bulwark.Errorf(bulwark.EINVALID, "feed record: invalid vulnerability id %q", bulwark.Truncate(r.Vuln.ID, 64))
		}
		if r.Key == "" || len(r.Key) > 200 || len(r.Vuln.Sources) == 0 {
			return bulwark.Errorf(bulwark.EINVALID, "feed record %s: missing source or provenance", r.Vuln.ID)
		}
	}
	// Read what is stored for these keys in one query.
	a := t.db.d.newArgs()
	var cond strings.Builder
	for i, r := range recs {
		if i > 0 {
			cond.WriteString(" OR ")
		}
		fmt.Fprintf(&cond, "(vuln_id = %s AND source = %s)", a.add(r.Vuln.ID), a.add(r.Key))
	}
	rows, err := t.q.QueryContext(ctx, "SELECT vuln_id, source, hash, modified FROM vuln_records WHERE "+cond.String(), a.v...)
	if err != nil {
		return t.db.d.mapErr("read feed records", err)
	}
	stored := map[[2]string]storedRecord{}
	for rows.Next() {
		var id, src string
		var s storedRecord
		if err := rows.Scan(&id, &src, &s.hash, &s.modified); err != nil {
			rows.Close()
			return t.db.d.mapErr("read feed records", err)
		}
		stored[[2]string{id, src}] = s
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return t.db.d.mapErr("read feed records", err)
	}

	w := t.db.d.newArgs()
	var vals strings.Builder
	n := 0
	seen := map[[2]string]bool{}
	for i := range recs {
		r := &recs[i]
		k := [2]string{r.Vuln.ID, r.Key}
		prov := r.Vuln.Sources[len(r.Vuln.Sources)-1]
		s, ok := stored[k]
		switch {
		case seen[k]:
			// A document that repeats a record: the first one wins.
			t.stats.Unchanged++
			continue
		case ok && s.hash == prov.Hash:
			t.stats.Unchanged++
			continue
		case ok && micros(prov.Modified) < s.modified:
			t.stats.Older++
			continue
		case ok:
			t.stats.Updated++
		default:
			t.stats.Created++
		}
		seen[k] = true
		data, err := json.Marshal(&r.Vuln)
		if err != nil {
			return bulwark.Errorf(bulwark.EINVALID, "feed record %s: %v", r.Vuln.ID, err)
		}
		kev := 0
		if r.Vuln.KEV != nil {
			kev = 1
		}
		if n > 0 {
			vals.WriteByte(',')
		}
		fmt.Fprintf(&vals, "(%s,%s,%s,%s,%s,%s,%s,%s,%s)", w.add(r.Vuln.ID), w.add(r.Key), w.add(bulwark.Truncate(prov.Document, 500)),
			w.add(micros(prov.FetchedAt)), w.add(micros(prov.Modified)), w.add(prov.Hash), w.add(kev), w.add(string(data)), w.add(t.seq))
		n++
	}
	if n == 0 {
		return nil
	}
	_, err = t.q.ExecContext(ctx, `INSERT INTO vuln_records (vuln_id, source, document, fetched_at, modified, hash, kev, data, seq)
		VALUES `+vals.String()+`
		ON CONFLICT (vuln_id, source) DO UPDATE SET document = excluded.document, fetched_at = excluded.fetched_at,
			modified = excluded.modified, hash = excluded.hash, kev = excluded.kev, data = excluded.data, seq = excluded.seq`, w.v...)
	return t.db.d.mapErr("write feed records", err)
}

// Commit makes the import visible and bumps the feed version when anything
// changed.
func (t *feedTx) Commit(ctx context.Context) (bulwark.FeedStats, error) {
	if t.closed {
		return t.stats, bulwark.Errorf(bulwark.EINVALID, "feed import already finished")
	}
	if t.err != nil {
		t.Rollback()
		return t.stats, t.err
	}
	t.closed = true
	if t.stats.Created+t.stats.Updated > 0 {
		if _, err := t.q.ExecContext(ctx, "UPDATE feed_version SET version = $1 WHERE id = 1", t.seq); err != nil {
			t.tx.Rollback()
			return t.stats, t.db.d.mapErr("commit feed import", err)
		}
		detail := fmt.Sprintf("created %d, updated %d, unchanged %d, older %d", t.stats.Created, t.stats.Updated, t.stats.Unchanged, t.stats.Older)
		if err := t.db.appendAudit(ctx, t.q, bulwark.AuditEntry{Actor: t.actor, Action: "feed.import",
			Target: "feed_version:" + strconv.FormatInt(t.seq, 10), Outcome: "ok", Detail: detail}); err != nil {
			t.tx.Rollback()
			return t.stats, err
		}
	}
	if err := t.tx.Commit(); err != nil {
		return t.stats, t.db.d.mapErr("commit feed import", err)
	}
	return t.stats, nil
}

// Rollback abandons the import.
func (t *feedTx) Rollback() error {
	if t.closed {
		return nil
	}
	t.closed = true
	return t.tx.Rollback()
}

// readVulnRecords returns the merged vulnerabilities of rows (vuln_id,
// source, data), which must be ordered by vuln_id.
func mergeRows(rows *sql.Rows, fn func(*bulwark.Vulnerability) error) error {
	var cur string
	var recs []bulwark.VulnRecord
	flush := func() error {
		if len(recs) == 0 {
			return nil
		}
		v := bulwark.MergeVulnerability(recs)
		recs = recs[:0]
		return fn(v)
	}
	for rows.Next() {
		var id, src, data string
		if err := rows.Scan(&id, &src, &data); err != nil {
			return err
		}
		if id != cur {
			if err := flush(); err != nil {
				return err
			}
			cur = id
		}
		var r bulwark.VulnRecord
		r.Key = src
		if err := json.Unmarshal([]byte(data), &r.Vuln); err != nil {
			return fmt.Errorf("decode stored record %s/%s: %w", id, src, err)
		}
		recs = append(recs, r)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return flush()
}

// FindVulnerability returns the merged view of one vulnerability.
func (db *DB) FindVulnerability(ctx context.Context, id string) (*bulwark.Vulnerability, error) {
	if _, err := principal(ctx); err != nil {
		return nil, err
	}
	var out *bulwark.Vulnerability
	err := db.inRead(ctx, func(q querier) error {
		rows, err := q.QueryContext(ctx, "SELECT vuln_id, source, data FROM vuln_records WHERE vuln_id = $1 ORDER BY source", id)
		if err != nil {
			return err
		}
		defer rows.Close()
		return mergeRows(rows, func(v *bulwark.Vulnerability) error { out = v; return nil })
	})
	if err != nil {
		return nil, db.d.mapErr("read vulnerability", err)
	}
	if out == nil {
		return nil, bulwark.Errorf(bulwark.ENOTFOUND, "vulnerability %s not found", bulwark.Truncate(id, 128))
	}
	return out, nil
}

// ListVulnerabilities lists merged vulnerabilities by ID.
func (db *DB) ListVulnerabilities(ctx context.Context, f bulwark.VulnFilter) (bulwark.Page[bulwark.VulnSummary], error) {
	var page bulwark.Page[bulwark.VulnSummary]
	if _, err := principal(ctx); err != nil {
		return page, err
	}
	limit := pageSize(f.Limit)
	a := db.d.newArgs()
	where := []string{"1=1"}
	if f.After != "" {
		where = append(where, "vuln_id > "+a.add(f.After))
	}
	if f.KEV {
		where = append(where, "vuln_id IN (SELECT vuln_id FROM vuln_records WHERE kev = 1)")
	}
	if f.Query != "" {
		where = append(where, "(LOWER(vuln_id) LIKE "+a.add("%"+strings.ToLower(f.Query)+"%")+" ESCAPE '\\')")
	}
	// Pick the page's IDs first, then merge their records.
	idq := "SELECT DISTINCT vuln_id FROM vuln_records WHERE " + strings.Join(where, " AND ") + " ORDER BY vuln_id LIMIT " + strconv.Itoa(limit+1)
	err := db.inRead(ctx, func(q querier) error {
		ids, err := queryStrings(ctx, q, idq, a.v...)
		if err != nil {
			return err
		}
		if len(ids) > limit {
			ids = ids[:limit]
			page.Next = ids[limit-1]
		}
		if len(ids) == 0 {
			return nil
		}
		b := db.d.newArgs()
		rows, err := q.QueryContext(ctx, "SELECT vuln_id, source, data FROM vuln_records WHERE vuln_id IN "+b.list(ids)+" ORDER BY vuln_id, source", b.v...)
		if err != nil {
			return err
		}
		defer rows.Close()
		return mergeRows(rows, func(v *bulwark.Vulnerability) error {
			page.Items = append(page.Items, Summarize(v))
			return nil
		})
	})
	return page, db.d.mapErr("list vulnerabilities", err)
}

// Summarize makes the listing line of a merged vulnerability.
func Summarize(v *bulwark.Vulnerability) bulwark.VulnSummary {
	s := bulwark.VulnSummary{ID: v.ID, Description: v.Description, CVSS: v.MaxCVSS(), Modified: v.Modified}
	if v.KEV != nil {
		s.KEV, s.KEVDue = true, v.KEV.DueDate
	}
	if v.EPSS != nil {
		s.EPSS = v.EPSS.Score
	}
	for _, p := range v.Sources {
		if !contains(s.Sources, p.Source) {
			s.Sources = append(s.Sources, p.Source)
		}
	}
	return s
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func queryStrings(ctx context.Context, q querier, query string, args ...any) ([]string, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// EachVulnerability streams merged vulnerabilities changed after since.
func (db *DB) EachVulnerability(ctx context.Context, since int64, fn func(*bulwark.Vulnerability) error) (int64, error) {
	if _, err := principal(ctx); err != nil {
		return 0, err
	}
	var version int64
	err := db.inRead(ctx, func(q querier) error {
		if err := q.QueryRowContext(ctx, "SELECT version FROM feed_version WHERE id = 1").Scan(&version); err != nil {
			return err
		}
		query := "SELECT vuln_id, source, data FROM vuln_records ORDER BY vuln_id, source"
		var args []any
		if since > 0 {
			query = `SELECT vuln_id, source, data FROM vuln_records WHERE vuln_id IN
				(SELECT vuln_id FROM vuln_records WHERE seq > $1) ORDER BY vuln_id, source`
			args = append(args, since)
		}
		rows, err := q.QueryContext(ctx, query, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		return mergeRows(rows, fn)
	})
	if err != nil {
		return 0, db.d.mapErr("read vulnerabilities", err)
	}
	return version, nil
}

// FeedVersion returns the number of feed imports that changed something.
func (db *DB) FeedVersion(ctx context.Context) (int64, error) {
	if _, err := principal(ctx); err != nil {
		return 0, err
	}
	var v int64
	err := db.reader().QueryRowContext(ctx, "SELECT version FROM feed_version WHERE id = 1").Scan(&v)
	return v, db.d.mapErr("read feed version", err)
}

// FeedSources summarizes the stored records per source.
func (db *DB) FeedSources(ctx context.Context) ([]bulwark.FeedSource, error) {
	if _, err := principal(ctx); err != nil {
		return nil, err
	}
	// CSAF keys are "csaf:<advisory>": group them as one source.
	rows, err := db.reader().QueryContext(ctx, `SELECT CASE WHEN source LIKE 'csaf:%' THEN 'csaf' ELSE source END AS s,
		COUNT(*), MAX(fetched_at), MAX(modified) FROM vuln_records GROUP BY s ORDER BY s`)
	if err != nil {
		return nil, db.d.mapErr("read feed status", err)
	}
	defer rows.Close()
	var out []bulwark.FeedSource
	for rows.Next() {
		var s bulwark.FeedSource
		var f, m int64
		if err := rows.Scan(&s.Source, &s.Records, &f, &m); err != nil {
			return nil, db.d.mapErr("read feed status", err)
		}
		s.LastFetched, s.LastModified = fromMicros(f), fromMicros(m)
		out = append(out, s)
	}
	return out, db.d.mapErr("read feed status", rows.Err())
}
