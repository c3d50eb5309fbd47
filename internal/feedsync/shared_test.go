package feedsync

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"bulwark/internal/testenv"
)

func readGz(t *testing.T, path string) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(path, ".gz") {
		zr, err := gzip.NewReader(f)
		if err != nil {
			t.Fatal(err)
		}
		r = zr
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestSharedNVDRepaged serves the 200 records of a real NVD API answer,
// re-paged by window and index, and syncs 16 years of them: 51 windows,
// pages of 50, every record imported exactly once per window it falls in.
func TestSharedNVDRepaged(t *testing.T) {
	dir := testenv.SharedData(t)
	clock := &fakeClock{t: time.Date(2023, 7, 14, 0, 0, 0, 0, time.UTC)}
	fs := newFeedServer(t, clock)
	fs.nvd = parseNVDRecords(t, readGz(t, filepath.Join(dir, "nvd/api-2.0/samples/cves-1999.json.gz")))
	if len(fs.nvd) != 200 {
		t.Fatalf("%d records in the sample", len(fs.nvd))
	}
	st := newFakeStore()
	since := time.Date(2007, 1, 1, 0, 0, 0, 0, time.UTC)
	s := newTestSyncer(t, fs, st, Config{Sources: []Source{NVD}, Since: since, NVDPageSize: 50})
	res, err := s.Sync(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// Count the pages each window needs, from the records' dates.
	wantReqs, wantRecords := 0, 0
	var wantIdx []string
	windows := nvdWindows(since, time.Date(2023, 7, 14, 0, 0, 0, 0, time.UTC))
	for _, w := range windows {
		n := 0
		for _, r := range fs.nvd {
			if !r.lastModified.Before(w.start) && !r.lastModified.After(w.end) {
				n++
			}
		}
		wantRecords += n
		wantReqs += max(1, (n+49)/50)
		for i := 50; i < n; i += 50 {
			wantIdx = append(wantIdx, strconv.Itoa(i))
		}
	}
	if len(windows) != 51 {
		t.Errorf("%d windows", len(windows))
	}
	reqs := fs.requests("/nvd")
	if len(reqs) != wantReqs {
		t.Errorf("%d requests, want %d", len(reqs), wantReqs)
	}
	var indexes []string
	for _, r := range reqs {
		if r.Query.Get("startIndex") != "0" {
			indexes = append(indexes, r.Query.Get("startIndex"))
		}
	}
	// 53 records of September 2008 share a window, and 70 of August
	// 2022 another: each needs a second page.
	if !slices.Equal(indexes, wantIdx) || len(wantIdx) != 2 {
		t.Errorf("non-zero start indexes %v, want %v", indexes, wantIdx)
	}
	sr := sourceResult(t, res, NVD)
	if sr.Records != wantRecords || sr.New != 200 || len(sr.Problems) != 0 {
		t.Errorf("result %+v, want %d records, 200 new", sr, wantRecords)
	}
	for i := 5; i < len(reqs); i++ {
		if reqs[i].At.Sub(reqs[i-5].At) < 30*time.Second {
			t.Fatalf("rate limit broken at request %d", i)
		}
	}
}

func TestSharedKEV(t *testing.T) {
	dir := testenv.SharedData(t)
	fs := newFeedServer(t, &fakeClock{t: t0})
	fs.kev = readGz(t, filepath.Join(dir, "kev/known_exploited_vulnerabilities.json"))
	var cat struct {
		Count int `json:"count"`
	}
	if err := json.Unmarshal(fs.kev, &cat); err != nil {
		t.Fatal(err)
	}
	s := newTestSyncer(t, fs, newFakeStore(), Config{Sources: []Source{KEV}})
	res, err := s.Sync(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if sr := sourceResult(t, res, KEV); sr.Records != cat.Count || sr.New != int64(cat.Count) || len(res.Changed) != cat.Count {
		t.Errorf("result %+v, changed %d, want %d", sr, len(res.Changed), cat.Count)
	}
}

// TestSharedCSAF serves CISA's real ROLIE feed and advisories behind the
// specification's provider metadata example, and fetches the newest.
func TestSharedCSAF(t *testing.T) {
	dir := testenv.SharedData(t)
	fs := newFeedServer(t, &fakeClock{t: t0})
	white := filepath.Join(dir, "csaf/cisa/OT/white")
	feedDoc := strings.ReplaceAll(string(readGz(t, filepath.Join(white, "cisa-csaf-ot-feed-tlp-white.json.gz"))),
		"https://raw.githubusercontent.com/cisagov/CSAF/develop/csaf_files/OT/white/", fs.srv.URL+"/csaf/")
	fs.setFile("/csaf/feed.json", []byte(feedDoc))

	var f rolieFeed
	if err := json.Unmarshal([]byte(feedDoc), &f); err != nil {
		t.Fatal(err)
	}
	type entry struct {
		path    string
		updated time.Time
	}
	var entries []entry
	for _, e := range f.Feed.Entry {
		upd, err := time.Parse(time.RFC3339Nano, e.Updated)
		if err != nil {
			t.Fatal(err)
		}
		entries = append(entries, entry{strings.TrimPrefix(e.Content.Src, fs.srv.URL), upd})
	}
	sort.SliceStable(entries, func(i, j int) bool { return entries[i].updated.After(entries[j].updated) })
	// Take the newest n, n chosen so that no advisory outside shares the
	// last one's time (which of equals a cap keeps is not specified).
	n := 25
	for entries[n-1].updated.Equal(entries[n].updated) {
		n++
	}
	var want []string
	for _, e := range entries[:n] {
		file := filepath.Join(white, strings.TrimPrefix(e.path, "/csaf/")+".gz")
		fs.addAdvisory(e.path, readGz(t, file))
		want = append(want, filepath.Base(e.path))
	}
	st := newFakeStore()
	s := newTestSyncer(t, fs, st, Config{Sources: []Source{CSAF}, MaxAdvisories: n,
		CSAFProviders: []string{fs.srv.URL + "/.well-known/csaf/provider-metadata.json"}})
	res, err := s.Sync(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	got := csafDocs(st)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("imported %v\nwant %v", got, want)
	}
	sr := sourceResult(t, res, CSAF)
	if sr.Documents != n || sr.Records < n || len(sr.Problems) != 1 || !strings.Contains(sr.Problems[0].Message, fmt.Sprintf("only the %d newest", n)) {
		t.Errorf("result %+v", sr)
	}
	if n := len(fs.requests("/csaf/feed.json")); n != 1 {
		t.Errorf("feed fetched %d times", n)
	}
}
