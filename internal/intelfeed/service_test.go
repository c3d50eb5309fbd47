package intelfeed

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"bulwark"
	"bulwark/internal/sharing/sharingtest"
	"bulwark/internal/stix"
	"bulwark/internal/taxiiclient"
)

// TestFeedRights: administrators of the owning organization manage and
// pull; its other members read; other organizations learn nothing; the
// target must be a collection the owner may write.
func TestFeedRights(t *testing.T) {
	p := newFakePartner(t)
	c := newCity(t, Config{})
	f := c.subscribeFake(t, p, nil)
	water, waterAdmin := c.water, c.w.AddUser(t, "water", bulwark.RoleAdmin)
	ctx := context.Background()

	// Members of the city read, without secrets.
	for _, u := range []*sharingtest.User{c.admin, c.analyst} {
		list, err := c.svc.List(u.Ctx())
		if err != nil || len(list) != 1 || list[0].Secret != nil || !list[0].HasSecret {
			t.Errorf("%s lists %+v, %v", u.Email, list, err)
		}
	}
	// Analysts neither add, change, remove nor pull.
	in := Input{Name: "x", ServerURL: p.srv.URL + "/taxii2/", Collection: "c1", Target: c.intel, Auth: bulwark.FeedAuthNone, CACert: p.pem}
	_, err := c.svc.Add(c.analyst.Ctx(), in)
	wantCode(t, "analyst adds", err, bulwark.EFORBIDDEN)
	_, err = c.svc.Update(c.analyst.Ctx(), f.ID, in)
	wantCode(t, "analyst updates", err, bulwark.EFORBIDDEN)
	wantCode(t, "analyst removes", c.svc.Remove(c.analyst.Ctx(), f.ID), bulwark.EFORBIDDEN)
	_, err = c.svc.Pull(c.analyst.Ctx(), f.ID, nil)
	wantCode(t, "analyst pulls", err, bulwark.EFORBIDDEN)
	_, err = c.svc.PullNow(c.analyst.Ctx(), f.ID)
	wantCode(t, "analyst queues a pull", err, bulwark.EFORBIDDEN)
	// Other organizations, administrators included, learn nothing.
	for _, u := range []*sharingtest.User{water, waterAdmin} {
		_, err := c.svc.Find(u.Ctx(), f.ID)
		wantCode(t, u.Email+" finds", err, bulwark.ENOTFOUND)
		list, err := c.svc.List(u.Ctx())
		if err != nil || len(list) != 0 {
			t.Errorf("%s lists %v, %v", u.Email, list, err)
		}
		_, err = c.svc.Update(u.Ctx(), f.ID, in)
		wantCode(t, u.Email+" updates", err, bulwark.ENOTFOUND)
		wantCode(t, u.Email+" removes", c.svc.Remove(u.Ctx(), f.ID), bulwark.ENOTFOUND)
		_, err = c.svc.Pull(u.Ctx(), f.ID, nil)
		wantCode(t, u.Email+" pulls", err, bulwark.ENOTFOUND)
	}
	// Water's admin cannot point a feed of its own at a collection it may
	// only read, nor at another community's.
	in.Target = c.intel
	_, err = c.svc.Add(waterAdmin.Ctx(), in)
	wantCode(t, "target read-only for the owner", err, bulwark.EINVALID)
	in.Target = c.elsewhere
	_, err = c.svc.Add(c.admin.Ctx(), in)
	wantCode(t, "target of another community", err, bulwark.EINVALID)
	in.Target = c.intel
	in.Org = "water"
	_, err = c.svc.Add(c.admin.Ctx(), in)
	wantCode(t, "admin adds for another organization", err, bulwark.EFORBIDDEN)
	_, err = c.svc.List(ctx)
	wantCode(t, "no principal", err, bulwark.EUNAUTHORIZED)

	// The System principal names the organization and the owner user.
	in.Org, in.Owner, in.Name = "city", c.analyst.ID, "operator's"
	g, err := c.svc.Add(sharingtest.SysCtx(), in)
	if err != nil || g.Org != "city" || g.CreatedBy != c.analyst.ID {
		t.Fatalf("system add: %+v, %v", g, err)
	}
	in.Owner = water.ID
	in.Name = "wrong owner"
	_, err = c.svc.Add(sharingtest.SysCtx(), in)
	wantCode(t, "owner of another organization", err, bulwark.EINVALID)

	// Input checks beyond the store's.
	bad := []struct {
		what string
		mod  func(*Input)
	}{
		{"http URL", func(in *Input) { in.ServerURL = "http://isac.example/taxii2/" }},
		{"CA not a certificate", func(in *Input) { in.CACert = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n" }},
		{"password with auth none", func(in *Input) { in.Password = "x" }},
		{"basic without password", func(in *Input) { in.Auth, in.Username = bulwark.FeedAuthBasic, "u" }},
		{"bearer without token", func(in *Input) { in.Auth = bulwark.FeedAuthBearer }},
		{"token with basic", func(in *Input) { in.Auth, in.Username, in.Password, in.Token = bulwark.FeedAuthBasic, "u", "p", "t" }},
		{"control characters in the token", func(in *Input) { in.Auth, in.Token = bulwark.FeedAuthBearer, "a\r\nX-Evil: 1" }},
		{"target not a UUID", func(in *Input) { in.Target = "intel" }},
	}
	for _, b := range bad {
		in := Input{Name: "bad " + b.what, ServerURL: p.srv.URL + "/taxii2/", Collection: "c1", Target: c.intel, Auth: bulwark.FeedAuthNone}
		b.mod(&in)
		_, err := c.svc.Add(c.admin.Ctx(), in)
		wantCode(t, b.what, err, bulwark.EINVALID)
	}

	// An update with no new token keeps the stored one; the admin removes.
	upd := Input{Name: "Partner (renamed)", ServerURL: p.srv.URL + "/taxii2/", Collection: "c1", Target: c.intel, Auth: bulwark.FeedAuthBearer, CACert: p.pem}
	if _, err := c.svc.Update(c.admin.Ctx(), f.ID, upd); err != nil {
		t.Fatal(err)
	}
	res := c.pull(t, f.ID)
	if res.Err != nil {
		t.Fatalf("pull after the update: %v", res.Err)
	}
	p.mu.Lock()
	lastAuth := p.auths[len(p.auths)-1]
	p.mu.Unlock()
	if lastAuth != "Bearer partner-token-never-logged" {
		t.Errorf("the stored token was not kept: %q", lastAuth)
	}
	if err := c.svc.Remove(c.admin.Ctx(), f.ID); err != nil {
		t.Fatal(err)
	}
	_, err = c.svc.Find(c.admin.Ctx(), f.ID)
	wantCode(t, "removed", err, bulwark.ENOTFOUND)
}

func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if got := bulwark.ErrorCode(err); got != code {
		t.Errorf("%s: error %v (code %q), want %q", what, err, got, code)
	}
}

// TestFailuresAndBackoff: failed pulls are recorded with a clean message,
// counted, and retried after an exponential, jittered back-off capped at
// the interval; a partner's Retry-After is honoured; a success resets.
func TestFailuresAndBackoff(t *testing.T) {
	p := newFakePartner(t)
	c := newCity(t, Config{RetryBase: time.Minute})
	f := c.subscribeFake(t, p, nil)
	var mu sync.Mutex
	answer := func(w http.ResponseWriter, r *http.Request, n int) bool { return false }
	p.fault = func(w http.ResponseWriter, r *http.Request, n int) bool {
		mu.Lock()
		defer mu.Unlock()
		return answer(w, r, n)
	}
	set := func(fn func(w http.ResponseWriter, r *http.Request, n int) bool) {
		mu.Lock()
		answer = fn
		mu.Unlock()
	}
	fail := func(status int, retryAfter string) func(http.ResponseWriter, *http.Request, int) bool {
		return func(w http.ResponseWriter, r *http.Request, n int) bool {
			if retryAfter != "" {
				w.Header().Set("Retry-After", retryAfter)
			}
			w.Header().Set("Content-Type", taxiiclient.MediaType)
			w.WriteHeader(status)
			fmt.Fprint(w, `{"title":"down\nfor\u202emaintenance"}`)
			return true
		}
	}
	type step struct {
		answer   func(http.ResponseWriter, *http.Request, int) bool
		failures int
		lo, hi   time.Duration // next pull after the attempt
		contains string
	}
	steps := []step{
		{fail(500, ""), 1, 30 * time.Second, time.Minute, "500"},
		{fail(502, ""), 2, time.Minute, 2 * time.Minute, "502"},
		{fail(503, "7200"), 3, 2 * time.Hour, 2*time.Hour + time.Second, "retry after 2h"},
		{fail(401, ""), 4, 4 * time.Minute, 8 * time.Minute, "credentials"},
		{fail(404, ""), 5, 8 * time.Minute, 16 * time.Minute, "404"},
		{fail(500, ""), 6, 16 * time.Minute, 32 * time.Minute, "500"},
		{fail(500, ""), 7, 30 * time.Minute, time.Hour, "500"}, // capped at the interval
		{fail(500, ""), 8, 30 * time.Minute, time.Hour, "500"},
		{func(http.ResponseWriter, *http.Request, int) bool { return false }, 0, time.Hour, time.Hour, ""},
	}
	for k, s := range steps {
		set(s.answer)
		before := time.Now()
		res := c.pull(t, f.ID)
		st := c.feed(t, f.ID)
		if st.Failures != s.failures {
			t.Errorf("step %d: %d failures, want %d (%v)", k, st.Failures, s.failures, res.Err)
		}
		wait := st.NextPull.Sub(st.LastAttempt)
		if wait < s.lo || wait > s.hi+time.Second {
			t.Errorf("step %d: next pull in %v, want within [%v, %v]", k, wait, s.lo, s.hi)
		}
		if s.contains == "" {
			if st.LastError != "" || res.Err != nil || st.LastSuccess.Before(before.Add(-time.Second)) {
				t.Errorf("step %d: success recorded as %+v", k, st.IntelFeedState)
			}
			continue
		}
		if !strings.Contains(st.LastError, s.contains) || strings.ContainsAny(st.LastError, "\n\u202e") {
			t.Errorf("step %d: last error %q, want it to say %q, on one line", k, st.LastError, s.contains)
		}
	}
	if strings.Contains(c.logs.String(), "partner-token-never-logged") {
		t.Error("the partner token is in the logs")
	}
}

// TestHostilePartners: garbage, endless bodies, paging loops and wrong
// media types fail the pull cleanly; what was imported before stays and
// the cursor stays safe.
func TestHostilePartners(t *testing.T) {
	base := time.Now().UTC().Add(-time.Hour)
	cases := []struct {
		name     string
		fault    func(w http.ResponseWriter, r *http.Request, n int) bool
		contains string
		imported int
	}{
		{"malformed envelope", func(w http.ResponseWriter, r *http.Request, n int) bool {
			w.Header().Set("Content-Type", taxiiclient.MediaType)
			io.WriteString(w, `{"objects":[{"type":"indicator",`)
			return true
		}, "envelope", 0},
		{"duplicate keys", func(w http.ResponseWriter, r *http.Request, n int) bool {
			w.Header().Set("Content-Type", taxiiclient.MediaType)
			io.WriteString(w, `{"more":false,"more":true,"objects":[]}`)
			return true
		}, "more", 0},
		{"html", func(w http.ResponseWriter, r *http.Request, n int) bool {
			w.Header().Set("Content-Type", "text/html")
			io.WriteString(w, `<html>login</html>`)
			return true
		}, "not TAXII 2.1", 0},
		{"endless body", func(w http.ResponseWriter, r *http.Request, n int) bool {
			w.Header().Set("Content-Type", taxiiclient.MediaType)
			io.WriteString(w, `{"objects":[`)
			for r.Context().Err() == nil {
				if _, err := w.Write(bytes.Repeat([]byte(" "), 64<<10)); err != nil {
					break
				}
			}
			return true
		}, "larger than", 0},
		{"next repeats after two pages", func(w http.ResponseWriter, r *http.Request, n int) bool {
			if r.URL.Query().Get("next") == "" || n <= 2 {
				return false
			}
			// From the third request on, serve page 2 again with its next.
			r.URL.RawQuery = strings.Replace(r.URL.RawQuery, "next="+r.URL.Query().Get("next"), "next=1", 1)
			return false
		}, "paging loop", 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := newFakePartner(t)
			c := newCity(t, Config{PageSize: 1, Client: taxiiclient.Options{MaxResponse: 1 << 20, Timeout: 5 * time.Second}})
			for k := range 4 {
				p.add(base.Add(time.Duration(k)*time.Second), obj(t, newID("indicator"), base, []string{stix.Clear.ID()}, nil))
			}
			f := c.subscribeFake(t, p, func(in *Input) { in.APIRoot = "/api1/" })
			p.fault = tc.fault
			res := c.pull(t, f.ID)
			st := c.feed(t, f.ID)
			if res.Err == nil || !strings.Contains(st.LastError, tc.contains) || st.Failures != 1 {
				t.Errorf("pull: %+v; state %+v; want an error saying %q", res, st.IntelFeedState, tc.contains)
			}
			if res.New != tc.imported || len(c.stored(t)) != tc.imported {
				t.Errorf("imported %d, stored %d; want %d", res.New, len(c.stored(t)), tc.imported)
			}
			// Healed, the partner's objects all come, once.
			p.fault = nil
			res = c.pull(t, f.ID)
			if res.Err != nil || len(c.stored(t)) != 4 {
				t.Errorf("after healing: %+v, %d stored", res, len(c.stored(t)))
			}
		})
	}
}

// TestNoLoopbackByDefault: a subscription may not reach loopback,
// link-local or unspecified addresses unless allowed.
func TestNoLoopbackByDefault(t *testing.T) {
	p := newFakePartner(t)
	c := newCity(t, Config{})
	f := c.subscribeFake(t, p, nil)
	strict := New(c.w.Store, c.w.Svc, Config{Key: testKey, Client: taxiiclient.Options{Retries: -1}}, nil)
	res, err := strict.Pull(sharingtest.SysCtx(), f.ID, nil)
	if err != nil || bulwark.ErrorCode(res.Err) != bulwark.EFORBIDDEN || !strings.Contains(res.Err.Error(), "loopback") {
		t.Errorf("pull to loopback: %+v, %v", res, err)
	}
}

func TestSealer(t *testing.T) {
	s, err := NewSealer(testKey)
	if err != nil {
		t.Fatal(err)
	}
	blob, err := s.Seal("hunter2", "city")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(blob, []byte("hunter2")) {
		t.Fatal("sealed blob contains the secret")
	}
	if got, err := s.Open(blob, "city"); err != nil || got != "hunter2" {
		t.Fatalf("open: %q, %v", got, err)
	}
	blob2, _ := s.Seal("hunter2", "city")
	if bytes.Equal(blob, blob2) {
		t.Error("sealing twice gives the same blob (nonce reuse?)")
	}
	other, _ := NewSealer(bytes.Repeat([]byte{8}, 32))
	damaged := append([]byte{}, blob...)
	damaged[len(damaged)-1] ^= 1
	for what, fn := range map[string]func() (string, error){
		"another organization": func() (string, error) { return s.Open(blob, "water") },
		"another key":          func() (string, error) { return other.Open(blob, "city") },
		"damaged":              func() (string, error) { return s.Open(damaged, "city") },
		"truncated":            func() (string, error) { return s.Open(blob[:10], "city") },
		"empty":                func() (string, error) { return s.Open(nil, "city") },
	} {
		if got, err := fn(); err == nil || got != "" || bulwark.ErrorCode(err) != bulwark.EINVALID {
			t.Errorf("%s: %q, %v", what, got, err)
		}
	}
	if _, err := NewSealer([]byte("short")); err == nil {
		t.Error("short key accepted")
	}
}

func TestLoadKey(t *testing.T) {
	t.Setenv(KeyEnv, "")
	dir := t.TempDir()
	db := filepath.Join(dir, "b.db")
	k1, err := LoadKey(db)
	if err != nil || len(k1) != 32 {
		t.Fatalf("new key: %v", err)
	}
	fi, err := os.Stat(db + ".key")
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, %v", fi, err)
	}
	k2, _ := LoadKey(db)
	if !bytes.Equal(k1, k2) {
		t.Error("the key changed between loads")
	}
	if _, err := LoadKey("postgres://x@127.0.0.1/db"); bulwark.ErrorCode(err) != bulwark.EUNAVAILABLE || !strings.Contains(err.Error(), KeyEnv) {
		t.Errorf("postgres without a key: %v", err)
	}
	m1, _ := LoadKey(":memory:")
	m2, _ := LoadKey(":memory:")
	if len(m1) != 32 || !bytes.Equal(m1, m2) {
		t.Error("memory key")
	}
	env := bytes.Repeat([]byte{9}, 32)
	t.Setenv(KeyEnv, base64.StdEncoding.EncodeToString(env))
	if k, err := LoadKey("postgres://x@127.0.0.1/db"); err != nil || !bytes.Equal(k, env) {
		t.Errorf("key from the environment: %v", err)
	}
	t.Setenv(KeyEnv, strings.Repeat("ab", 32))
	if k, err := LoadKey(db); err != nil || k[0] != 0xab {
		t.Errorf("hex key: %v", err)
	}
	t.Setenv(KeyEnv, "too-short")
	if _, err := LoadKey(db); bulwark.ErrorCode(err) != bulwark.EINVALID {
		t.Errorf("bad key: %v", err)
	}
}

// TestScheduledPulls: with the job queue started, a due subscription is
// pulled by a River job; "pull now" queues one at once; a paused
// subscription is left alone.
func TestScheduledPulls(t *testing.T) {
	i := newISAC(t)
	base := time.Now().UTC().Add(-time.Hour).Truncate(time.Millisecond)
	i.post(t, obj(t, newID("indicator"), base, []string{stix.Green.ID()}, nil))
	c := newCity(t, Config{})
	pulled := make(chan string, 10)
	testHookPulled = func(feed string, res *Result) {
		if res.Err == nil {
			pulled <- feed
		}
	}
	defer func() { testHookPulled = nil }()
	cfg := c.svc.cfg
	cfg.DSN = ":memory:"
	cfg.TickEvery = 100 * time.Millisecond
	svc, err := Open(context.Background(), c.w.Store, c.w.Svc, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	c.svc = svc
	paused := c.subscribe(t, i, func(in *Input) { in.Name, in.Paused = "paused", true })
	f := c.subscribe(t, i, nil)
	if err := svc.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case id := <-pulled:
		if id != f.ID {
			t.Fatalf("pulled %s", id)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the due feed was not pulled")
	}
	if st := c.feed(t, f.ID); st.Imported != 1 || st.NextPull.Before(time.Now().Add(50*time.Minute)) {
		t.Errorf("after the scheduled pull: %+v", st.IntelFeedState)
	}
	// Not due again for an hour; pull now.
	i.post(t, obj(t, newID("indicator"), base, []string{stix.Green.ID()}, nil))
	// (The scheduled job may still be finishing: "pull now" then says a
	// pull is already queued or running.)
	deadline := time.Now().Add(10 * time.Second)
	for {
		queued, err := svc.PullNow(c.admin.Ctx(), f.ID)
		if err != nil {
			t.Fatal(err)
		}
		if queued {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("pull now never queued")
		}
		time.Sleep(50 * time.Millisecond)
	}
	select {
	case <-pulled:
	case <-time.After(20 * time.Second):
		t.Fatal("pull now did not pull")
	}
	if st := c.feed(t, f.ID); st.Imported != 2 {
		t.Errorf("after pull now: %+v", st.IntelFeedState)
	}
	if st := c.feed(t, paused.ID); !st.LastAttempt.IsZero() {
		t.Errorf("the paused feed was pulled: %+v", st.IntelFeedState)
	}
	if err := svc.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	_, err = New(c.w.Store, c.w.Svc, Config{Key: testKey}, nil).PullNow(c.admin.Ctx(), f.ID)
	wantCode(t, "pull now without a queue", err, bulwark.EUNAVAILABLE)
}
