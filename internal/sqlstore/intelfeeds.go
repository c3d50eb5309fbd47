package sqlstore

import (
	"context"
	"database/sql"
	"encoding/base64"
	"fmt"
	"time"

	"bulwark"
)

// Subscriptions to partners' TAXII collections (bulwark.IntelFeedStore).
// A subscription is its organization's alone: sharing grants open a city
// model to another organization, not its feeds. Members read their
// organization's subscriptions without the sealed secret; administrators
// manage them; the System principal (the puller) also reads secrets and
// records pulls under a lease.

const intelFeedColumns = `id, org, name, description, server_url, api_root, collection, target, auth, username, secret, ca_cert,
	min_marking, interval_s, paused, added_after, resume_next, resume_after, last_attempt, last_success, last_error, failures,
	next_pull, imported, last_count, last_rejected, lease_holder, lease_until, created_by, created_by_name, created_at, updated_at`

type feedRow struct {
	f           bulwark.IntelFeed
	leaseHolder string
	leaseUntil  time.Time
}

func scanIntelFeed(row rowScanner) (*feedRow, error) {
	var r feedRow
	f := &r.f
	var auth, secret, marking string
	var interval, addedAfter, resumeAfter, lastAttempt, lastSuccess, nextPull, leaseUntil, created, updated int64
	err := row.Scan(&f.ID, &f.Org, &f.Name, &f.Description, &f.ServerURL, &f.APIRoot, &f.Collection, &f.Target, &auth, &f.Username, &secret,
		&f.CACert, &marking, &interval, &f.Paused, &addedAfter, &f.ResumeNext, &resumeAfter, &lastAttempt, &lastSuccess, &f.LastError,
		&f.Failures, &nextPull, &f.Imported, &f.LastCount, &f.LastRejected, &r.leaseHolder, &leaseUntil, &f.CreatedBy, &f.CreatedByName,
		&created, &updated)
	if err != nil {
		return nil, err
	}
	f.Auth, f.MinMarking, f.Interval = bulwark.FeedAuth(auth), bulwark.TLP(marking), time.Duration(interval)*time.Second
	if secret != "" {
		b, err := base64.StdEncoding.DecodeString(secret)
		if err != nil {
			return nil, fmt.Errorf("feed %s: damaged secret", f.ID)
		}
		f.Secret, f.HasSecret = b, true
	}
	f.AddedAfter, f.ResumeAfter, f.LastAttempt, f.LastSuccess = fromMicros(addedAfter), fromMicros(resumeAfter), fromMicros(lastAttempt), fromMicros(lastSuccess)
	f.NextPull, f.CreatedAt, f.UpdatedAt, r.leaseUntil = fromMicros(nextPull), fromMicros(created), fromMicros(updated), fromMicros(leaseUntil)
	return &r, nil
}

// forCaller strips what the caller may not read: secrets leave the store
// for the System principal only.
func forCaller(sc scope, f *bulwark.IntelFeed) {
	if !sc.all {
		f.Secret = nil
		f.ResumeNext = ""
	}
}

func sealed(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return base64.StdEncoding.EncodeToString(b)
}

// maxFeedSecret caps a sealed secret.
const maxFeedSecret = 16 << 10

// mayManageFeeds: the System principal, or an administrator of org.
func mayManageFeeds(sc scope, org string) error {
	if sc.all || (sc.p.Role == bulwark.RoleAdmin && sc.p.Org == org) {
		return nil
	}
	return bulwark.Errorf(bulwark.EFORBIDDEN, "only administrators of %s may manage its feeds", org)
}

func errNoFeed(id string) error {
	return bulwark.Errorf(bulwark.ENOTFOUND, "feed %q not found", bulwark.Truncate(id, 128))
}

// findFeed reads a subscription the caller may see (its organization's;
// any for the System principal).
func (db *DB) findFeed(ctx context.Context, q querier, sc scope, id string) (*feedRow, error) {
	if !bulwark.ValidID(id) {
		return nil, errNoFeed(id)
	}
	r, err := scanIntelFeed(q.QueryRowContext(ctx, "SELECT "+intelFeedColumns+" FROM intel_feeds WHERE id = $1", id))
	if err == sql.ErrNoRows {
		return nil, errNoFeed(id)
	}
	if err != nil {
		return nil, db.d.mapErr("read feed", err)
	}
	if !sc.all && r.f.Org != sc.p.Org {
		return nil, errNoFeed(id)
	}
	return r, nil
}

// CreateIntelFeed adds a subscription of the caller's organization (any,
// for the System principal, which must name it).
func (db *DB) CreateIntelFeed(ctx context.Context, f *bulwark.IntelFeed) error {
	if len(f.Secret) > maxFeedSecret {
		return bulwark.Errorf(bulwark.ETOOLARGE, "the feed's secret is too large")
	}
	return db.inWrite(ctx, func(q querier) error {
		sc, err := db.scopeOf(ctx, q)
		if err != nil {
			return err
		}
		if !sc.all {
			if f.Org != "" && f.Org != sc.p.Org {
				return bulwark.Errorf(bulwark.EFORBIDDEN, "you may add feeds to your own organization only")
			}
			f.Org = sc.p.Org
		}
		if err := mayManageFeeds(sc, f.Org); err != nil {
			return err
		}
		if f.Interval == 0 {
			f.Interval = bulwark.DefaultIntelFeedInterval
		}
		if err := f.Validate(); err != nil {
			return err
		}
		if err := db.orgsExist(ctx, q, []string{f.Org}); err != nil {
			return err
		}
		var n int
		if err := q.QueryRowContext(ctx, "SELECT COUNT(*) FROM intel_feeds WHERE org = $1", f.Org).Scan(&n); err != nil {
			return db.d.mapErr("add feed", err)
		}
		if n >= bulwark.MaxIntelFeedsPerOrg {
			return bulwark.Errorf(bulwark.ECONFLICT, "%s has %d feeds, the most allowed", f.Org, n)
		}
		if f.Auth == bulwark.FeedAuthNone {
			f.Secret = nil
		}
		now := fromMicros(micros(db.now()))
		f.ID = newID("feed-")
		// The System principal names the owner user (the TLP:RED audience
		// of what the feed imports); a user is the owner itself.
		if !sc.all {
			f.CreatedBy = sc.p.UserID
		}
		f.CreatedByName = bulwark.Truncate(sc.actor(), 200)
		f.CreatedAt, f.UpdatedAt = now, now
		f.IntelFeedState = bulwark.IntelFeedState{NextPull: now}
		f.HasSecret = len(f.Secret) > 0
		_, err = q.ExecContext(ctx, `INSERT INTO intel_feeds (`+intelFeedColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12,
			$13, $14, $15, 0, '', 0, 0, 0, '', 0, $16, 0, 0, 0, '', 0, $17, $18, $19, $20)`,
			f.ID, f.Org, f.Name, f.Description, f.ServerURL, f.APIRoot, f.Collection, f.Target, string(f.Auth), f.Username, sealed(f.Secret), f.CACert,
			string(f.MinMarking), int64(f.Interval/time.Second), f.Paused, micros(now), f.CreatedBy, f.CreatedByName, micros(now), micros(now))
		if db.d.isUnique(err) {
			return bulwark.Errorf(bulwark.ECONFLICT, "%s already has a feed named %q", f.Org, bulwark.Truncate(f.Name, 100))
		}
		if err != nil {
			return db.d.mapErr("add feed", err)
		}
		forCaller(sc, f)
		return db.appendAudit(ctx, q, bulwark.AuditEntry{Org: f.Org, Actor: sc.actor(), Action: "intel.feed.create", Target: "feed:" + f.ID, Outcome: "ok",
			Detail: fmt.Sprintf("%q: %s collection %s into %s, auth %s", bulwark.Truncate(f.Name, 100), bulwark.Truncate(f.ServerURL, 300), bulwark.Truncate(f.Collection, 100), f.Target, f.Auth)})
	})
}

// UpdateIntelFeed replaces a subscription's settings.
func (db *DB) UpdateIntelFeed(ctx context.Context, f *bulwark.IntelFeed) error {
	if len(f.Secret) > maxFeedSecret {
		return bulwark.Errorf(bulwark.ETOOLARGE, "the feed's secret is too large")
	}
	return db.inWrite(ctx, func(q querier) error {
		sc, err := db.scopeOf(ctx, q)
		if err != nil {
			return err
		}
		cur, err := db.findFeed(ctx, q, sc, f.ID)
		if err != nil {
			return err
		}
		if err := mayManageFeeds(sc, cur.f.Org); err != nil {
			return err
		}
		if f.Interval == 0 {
			f.Interval = cur.f.Interval
		}
		if err := f.Validate(); err != nil {
			return err
		}
		secret := f.Secret
		switch {
		case f.Auth == bulwark.FeedAuthNone:
			secret = nil
		case secret == nil && f.Auth == cur.f.Auth:
			secret = cur.f.Secret
		}
		st := cur.f.IntelFeedState
		restart := f.ServerURL != cur.f.ServerURL || f.APIRoot != cur.f.APIRoot || f.Collection != cur.f.Collection
		if restart {
			st.AddedAfter, st.ResumeNext, st.ResumeAfter = time.Time{}, "", time.Time{}
		}
		now := fromMicros(micros(db.now()))
		if !f.Paused && cur.f.Paused && st.NextPull.Before(now) {
			st.NextPull = now
		}
		_, err = q.ExecContext(ctx, `UPDATE intel_feeds SET name = $1, description = $2, server_url = $3, api_root = $4, collection = $5, target = $6,
			auth = $7, username = $8, secret = $9, ca_cert = $10, min_marking = $11, interval_s = $12, paused = $13, added_after = $14, resume_next = $15,
			resume_after = $16, next_pull = $17, updated_at = $18 WHERE id = $19`,
			f.Name, f.Description, f.ServerURL, f.APIRoot, f.Collection, f.Target, string(f.Auth), f.Username, sealed(secret), f.CACert,
			string(f.MinMarking), int64(f.Interval/time.Second), f.Paused, micros(st.AddedAfter), st.ResumeNext, micros(st.ResumeAfter),
			micros(st.NextPull), micros(now), f.ID)
		if db.d.isUnique(err) {
			return bulwark.Errorf(bulwark.ECONFLICT, "%s already has a feed named %q", cur.f.Org, bulwark.Truncate(f.Name, 100))
		}
		if err != nil {
			return db.d.mapErr("update feed", err)
		}
		f.Org, f.CreatedBy, f.CreatedByName, f.CreatedAt, f.UpdatedAt = cur.f.Org, cur.f.CreatedBy, cur.f.CreatedByName, cur.f.CreatedAt, now
		f.IntelFeedState, f.Secret, f.HasSecret = st, secret, len(secret) > 0
		forCaller(sc, f)
		detail := fmt.Sprintf("%q: %s collection %s into %s, auth %s", bulwark.Truncate(f.Name, 100), bulwark.Truncate(f.ServerURL, 300), bulwark.Truncate(f.Collection, 100), f.Target, f.Auth)
		if restart {
			detail += "; source changed, cursor reset"
		}
		return db.appendAudit(ctx, q, bulwark.AuditEntry{Org: cur.f.Org, Actor: sc.actor(), Action: "intel.feed.update", Target: "feed:" + f.ID, Outcome: "ok", Detail: detail})
	})
}

// DeleteIntelFeed removes a subscription (what it imported stays).
func (db *DB) DeleteIntelFeed(ctx context.Context, id string) error {
	return db.inWrite(ctx, func(q querier) error {
		sc, err := db.scopeOf(ctx, q)
		if err != nil {
			return err
		}
		cur, err := db.findFeed(ctx, q, sc, id)
		if err != nil {
			return err
		}
		if err := mayManageFeeds(sc, cur.f.Org); err != nil {
			return err
		}
		if _, err := q.ExecContext(ctx, "DELETE FROM intel_feeds WHERE id = $1", id); err != nil {
			return db.d.mapErr("delete feed", err)
		}
		return db.appendAudit(ctx, q, bulwark.AuditEntry{Org: cur.f.Org, Actor: sc.actor(), Action: "intel.feed.delete", Target: "feed:" + id, Outcome: "ok",
			Detail: fmt.Sprintf("%q (%d objects imported stay)", bulwark.Truncate(cur.f.Name, 100), cur.f.Imported)})
	})
}

// FindIntelFeed returns a subscription of the caller's organization.
func (db *DB) FindIntelFeed(ctx context.Context, id string) (*bulwark.IntelFeed, error) {
	var out *bulwark.IntelFeed
	err := db.inRead(ctx, func(q querier) error {
		sc, err := db.scopeOf(ctx, q)
		if err != nil {
			return err
		}
		r, err := db.findFeed(ctx, q, sc, id)
		if err != nil {
			return err
		}
		forCaller(sc, &r.f)
		out = &r.f
		return nil
	})
	return out, err
}

// ListIntelFeeds returns the caller's organization's subscriptions by
// name (every organization's for the System principal, by organization
// and name); DueBy selects those due for a pull.
func (db *DB) ListIntelFeeds(ctx context.Context, flt bulwark.IntelFeedFilter) ([]bulwark.IntelFeed, error) {
	var out []bulwark.IntelFeed
	err := db.inRead(ctx, func(q querier) error {
		sc, err := db.scopeOf(ctx, q)
		if err != nil {
			return err
		}
		a := db.d.newArgs()
		where := "1 = 1"
		if !sc.all {
			where += " AND org = " + a.add(sc.p.Org)
		}
		if !flt.DueBy.IsZero() {
			where += " AND paused = " + a.add(false) + " AND next_pull <= " + a.add(micros(flt.DueBy))
		}
		rows, err := q.QueryContext(ctx, "SELECT "+intelFeedColumns+" FROM intel_feeds WHERE "+where+" ORDER BY org, name, id", a.v...)
		if err != nil {
			return db.d.mapErr("list feeds", err)
		}
		defer rows.Close()
		for rows.Next() {
			r, err := scanIntelFeed(rows)
			if err != nil {
				return db.d.mapErr("list feeds", err)
			}
			forCaller(sc, &r.f)
			out = append(out, r.f)
		}
		return db.d.mapErr("list feeds", rows.Err())
	})
	return out, err
}

// ClaimIntelFeed takes a subscription's lease (System principal).
func (db *DB) ClaimIntelFeed(ctx context.Context, id string, lease bulwark.IntelFeedLease) (*bulwark.IntelFeed, error) {
	if lease.Holder == "" || len(lease.Holder) > 200 || lease.Until.IsZero() {
		return nil, bulwark.Errorf(bulwark.EINVALID, "a lease needs a holder and an end")
	}
	var out *bulwark.IntelFeed
	err := db.inWrite(ctx, func(q querier) error {
		sc, err := db.scopeOf(ctx, q)
		if err != nil {
			return err
		}
		if !sc.all {
			return bulwark.Errorf(bulwark.EFORBIDDEN, "only the puller claims feeds")
		}
		lock := ""
		if db.d == postgresDialect {
			lock = " FOR UPDATE"
		}
		r, err := scanIntelFeed(q.QueryRowContext(ctx, "SELECT "+intelFeedColumns+" FROM intel_feeds WHERE id = $1"+lock, id))
		if err == sql.ErrNoRows {
			return errNoFeed(id)
		}
		if err != nil {
			return db.d.mapErr("claim feed", err)
		}
		now := db.now()
		if r.leaseHolder != "" && r.leaseHolder != lease.Holder && r.leaseUntil.After(now) {
			return bulwark.Errorf(bulwark.ECONFLICT, "feed %s is being pulled (until %s at the latest)", id, r.leaseUntil.Format(time.RFC3339))
		}
		if _, err := q.ExecContext(ctx, "UPDATE intel_feeds SET lease_holder = $1, lease_until = $2 WHERE id = $3", bulwark.Truncate(lease.Holder, 200), micros(lease.Until), id); err != nil {
			return db.d.mapErr("claim feed", err)
		}
		out = &r.f
		return nil
	})
	return out, err
}

// SaveIntelFeedState records a pull's progress for the lease holder.
func (db *DB) SaveIntelFeedState(ctx context.Context, id string, lease bulwark.IntelFeedLease, st bulwark.IntelFeedState, release bool) error {
	if len(st.ResumeNext) > 4096 {
		st.ResumeNext, st.ResumeAfter = "", time.Time{} // a next that long is not kept; the pull resumes from the cursor
	}
	st.LastError = bulwark.Truncate(st.LastError, 1000)
	return db.inWrite(ctx, func(q querier) error {
		sc, err := db.scopeOf(ctx, q)
		if err != nil {
			return err
		}
		if !sc.all {
			return bulwark.Errorf(bulwark.EFORBIDDEN, "only the puller records pulls")
		}
		lock := ""
		if db.d == postgresDialect {
			lock = " FOR UPDATE"
		}
		r, err := scanIntelFeed(q.QueryRowContext(ctx, "SELECT "+intelFeedColumns+" FROM intel_feeds WHERE id = $1"+lock, id))
		if err == sql.ErrNoRows {
			return errNoFeed(id)
		}
		if err != nil {
			return db.d.mapErr("record pull", err)
		}
		if r.leaseHolder != lease.Holder || lease.Holder == "" {
			return bulwark.Errorf(bulwark.ECONFLICT, "the lease on feed %s was lost; another puller took over", id)
		}
		if st.AddedAfter.Before(r.f.AddedAfter) {
			st.AddedAfter = r.f.AddedAfter // the cursor never moves backwards
		}
		holder, until := r.leaseHolder, r.leaseUntil
		if !lease.Until.IsZero() {
			until = lease.Until
		}
		if release {
			holder, until = "", time.Time{}
		}
		_, err = q.ExecContext(ctx, `UPDATE intel_feeds SET added_after = $1, resume_next = $2, resume_after = $3, last_attempt = $4, last_success = $5,
			last_error = $6, failures = $7, next_pull = $8, imported = $9, last_count = $10, last_rejected = $11, lease_holder = $12, lease_until = $13
			WHERE id = $14`,
			micros(st.AddedAfter), st.ResumeNext, micros(st.ResumeAfter), micros(st.LastAttempt), micros(st.LastSuccess), st.LastError, st.Failures,
			micros(st.NextPull), st.Imported, st.LastCount, st.LastRejected, holder, micros(until), id)
		if err != nil {
			return db.d.mapErr("record pull", err)
		}
		if !release {
			return nil
		}
		outcome, detail := "ok", fmt.Sprintf("%d new object versions, %d refused; cursor %s", st.LastCount, st.LastRejected, bulwark.FormatTAXIITime(st.AddedAfter))
		if st.LastError != "" {
			outcome, detail = "error", bulwark.Truncate(st.LastError, 500)+fmt.Sprintf(" (%d failures in a row)", st.Failures)
		}
		return db.appendAudit(ctx, q, bulwark.AuditEntry{Org: r.f.Org, Actor: sc.actor(), Action: "intel.feed.pull", Target: "feed:" + id, Outcome: outcome, Detail: detail})
	})
}
