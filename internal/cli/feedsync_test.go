package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"bulwark/internal/vulns"
)

// runSync runs the CLI with `feeds sync` registered (the root registers it
// once wired; until then the test adds it).
func runSync(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	e := &env{ctx: context.Background(), stdin: strings.NewReader(""), stdout: &out, stderr: &errb}
	e.log = slog.New(slog.NewTextHandler(&errb, &slog.HandlerOptions{Level: slog.LevelWarn}))
	root := newRoot(e)
	if c, _, err := root.Find([]string{"feeds", "sync"}); err != nil || c.Name() != "sync" {
		feeds, _, err := root.Find([]string{"feeds"})
		if err != nil {
			t.Fatal(err)
		}
		feeds.AddCommand(newFeedsSyncCmd(e))
	}
	root.SetArgs(args)
	root.SetOut(&out)
	root.SetErr(&errb)
	if err := root.ExecuteContext(e.ctx); err != nil {
		return reportError(&errb, err), out.String(), errb.String()
	}
	return 0, out.String(), errb.String()
}

// kevServer serves a small KEV catalog over plain http (a local mirror)
// and records the API key headers it saw.
func kevServer(t *testing.T) (*httptest.Server, *[]string) {
	kev, err := os.ReadFile("../feedsync/testdata/kev.json")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var keys []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		keys = append(keys, r.Header.Get("apiKey"))
		mu.Unlock()
		switch r.URL.Path {
		case "/kev.json":
			w.Header().Set("ETag", `"v1"`)
			w.Write(kev)
		default:
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &keys
}

func TestFeedsSync(t *testing.T) {
	srv, _ := kevServer(t)
	db := filepath.Join(t.TempDir(), "b.db")
	code, out, errOut := runSync(t, "--db", db, "feeds", "sync", "--source", "kev", "--allow-http", "--kev-url", srv.URL+"/kev.json")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	if !strings.Contains(out, "SOURCE") || !hasRow(out, "kev", "1", "5", "5", "0", "0", "0", "ok") {
		t.Errorf("table:\n%s", out)
	}
	// The records are stored: feeds status counts them.
	if st := mustRun(t, "--db", db, "feeds", "status", "--json"); !strings.Contains(st, `"source":"kev","records":5`) {
		t.Errorf("status after sync: %s", st)
	}

	// Again: the same records, unchanged; --json.
	code, out, _ = runSync(t, "--db", db, "feeds", "sync", "--source", "kev", "--allow-http", "--kev-url", srv.URL+"/kev.json", "--json")
	var res struct {
		Sources []struct {
			Source    string `json:"source"`
			Records   int    `json:"records"`
			Unchanged int    `json:"unchanged"`
		} `json:"sources"`
		Changed int `json:"changed"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &res) != nil || len(res.Sources) != 1 || res.Sources[0].Unchanged != 5 || res.Changed != 0 {
		t.Errorf("second sync: exit %d, %s", code, out)
	}
}

func TestFeedsSyncErrors(t *testing.T) {
	srv, keys := kevServer(t)
	db := filepath.Join(t.TempDir(), "b.db")
	keyFile := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(keyFile, []byte("k3y-value\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		args     []string
		wantCode int
		want     []string
	}{
		{"plain http refused", []string{"--source", "kev", "--kev-url", srv.URL + "/kev.json"}, exitInvalid, []string{"refusing plain http"}},
		{"unknown source", []string{"--source", "osv"}, exitInvalid, []string{`unknown feed source "osv"`}},
		{"bad since", []string{"--since", "last week"}, exitInvalid, []string{"--since"}},
		{"csaf without provider", []string{"--source", "csaf"}, exitInvalid, []string{"provider"}},
		{"nvd first sync needs since", []string{"--source", "nvd", "--allow-http", "--nvd-url", srv.URL + "/nvd"}, exitInvalid, []string{"--since", "bulk job"}},
		{"source failure", []string{"--source", "nvd,kev", "--allow-http", "--nvd-url", srv.URL + "/nvd", "--kev-url", srv.URL + "/kev.json",
			"--since", "2026-11-01", "--retries", "0", "--nvd-api-key-file", keyFile}, exitError, []string{"nvd: GET", "503", "failed"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runSync(t, append([]string{"--db", db, "feeds", "sync"}, tt.args...)...)
			if code != tt.wantCode {
				t.Errorf("exit %d, want %d\n%s\n%s", code, tt.wantCode, out, errOut)
			}
			for _, w := range tt.want {
				if !strings.Contains(out+errOut, w) {
					t.Errorf("output lacks %q:\n%s\n%s", w, out, errOut)
				}
			}
			if strings.Contains(out+errOut, "k3y-value") {
				t.Errorf("API key printed")
			}
		})
	}
	var sent bool
	for _, k := range *keys {
		sent = sent || k == "k3y-value"
	}
	if !sent {
		t.Errorf("the key file's key was never sent: %q", *keys)
	}
}

// hasRow reports whether a line of out has exactly these fields.
func hasRow(out string, fields ...string) bool {
	for _, l := range strings.Split(out, "\n") {
		if strings.Join(strings.Fields(l), " ") == strings.Join(fields, " ") {
			return true
		}
	}
	return false
}

// TestNewFeedSyncer runs the scheduled job's Syncer once over a store.
func TestNewFeedSyncer(t *testing.T) {
	srv, _ := kevServer(t)
	e := &env{ctx: context.Background(), db: filepath.Join(t.TempDir(), "b.db"), log: slog.New(slog.DiscardHandler)}
	db, ctx, err := e.openStore()
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	o := syncOptions{sources: "kev", allowHTTP: true, kevURL: srv.URL + "/kev.json", retries: 1, timeout: time.Minute, maxAdvisories: 10}
	s, err := newFeedSyncer(&o, db, vulns.New(db, e.log), e.log)
	if err != nil {
		t.Fatal(err)
	}
	s.Run(ctx, 0) // every <= 0: one sync
	srcs, err := db.FeedSources(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(srcs) != 1 || srcs[0].Source != "kev" || srcs[0].Records != 5 {
		t.Errorf("stored %+v", srcs)
	}
}
