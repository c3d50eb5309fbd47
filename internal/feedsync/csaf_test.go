package feedsync

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

func csafDocs(st *fakeStore) []string {
	var out []string
	for _, d := range st.Docs() {
		if strings.HasPrefix(d, "ics") {
			out = append(out, d)
		}
	}
	return out
}

func TestCSAFProviderAndIncremental(t *testing.T) {
	fs := newFeedServer(t, &fakeClock{t: t0})
	st := newFakeStore()
	provider := fs.srv.URL + "/.well-known/csaf/provider-metadata.json"
	s := newTestSyncer(t, fs, st, Config{CSAFProviders: []string{provider}, Sources: []Source{CSAF}})
	res, err := s.Sync(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	sr := sourceResult(t, res, CSAF)
	want := []string{"icsa-24-032-01.json", "icsma-24-058-01.json", "icsa-24-263-05.json"} // oldest first
	if got := csafDocs(st); !slices.Equal(got, want) {
		t.Errorf("imported %v, want %v", got, want)
	}
	if sr.Documents != 3 || sr.Records == 0 || sr.New != int64(sr.Records) || len(sr.Problems) != 0 {
		t.Errorf("result %+v", sr)
	}
	for _, id := range []string{"icsa-24-263-05", "icsa-24-032-01", "icsma-24-058-01"} {
		if n := len(fs.requests("/csaf/2024/" + id + ".json.sha512")); n != 1 {
			t.Errorf("%s: hash fetched %d times", id, n)
		}
	}
	if len(res.Changed) == 0 || !slices.IsSorted(res.Changed) {
		t.Errorf("changed %v", res.Changed)
	}

	// Nothing was updated since: the feed is read, no advisory fetched.
	res, err = s.Sync(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if sr := sourceResult(t, res, CSAF); sr.Documents != 0 || len(csafDocs(st)) != 3 || len(fs.requests("/csaf/feed.json")) != 2 {
		t.Errorf("second sync: %+v, docs %v", sr, csafDocs(st))
	}

	// The publisher updates one advisory: only it is fetched again.
	feedDoc := strings.Replace(string(fs.files["/csaf/feed.json"]), `"updated": "2024-02-27T07:00:00.000000Z"`, `"updated": "2024-10-30T07:00:00.000000Z"`, 1)
	fs.setFile("/csaf/feed.json", []byte(feedDoc))
	if _, err := s.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := csafDocs(st); len(got) != 4 || got[3] != "icsma-24-058-01.json" {
		t.Errorf("after an update: %v", got)
	}
}

func TestCSAFHashMismatchSkipped(t *testing.T) {
	fs := newFeedServer(t, &fakeClock{t: t0})
	fs.setFile("/csaf/2024/icsa-24-032-01.json.sha512", []byte(strings.Repeat("ab", 64)+"  icsa-24-032-01.json\n"))
	st := newFakeStore()
	s := newTestSyncer(t, fs, st, Config{CSAFProviders: []string{fs.srv.URL + "/.well-known/csaf/provider-metadata.json"}, Sources: []Source{CSAF}})
	res, err := s.Sync(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	sr := sourceResult(t, res, CSAF)
	if got := csafDocs(st); !slices.Equal(got, []string{"icsma-24-058-01.json", "icsa-24-263-05.json"}) {
		t.Errorf("imported %v", got)
	}
	if sr.Documents != 2 || len(sr.Problems) != 1 || sr.Problems[0].File != "icsa-24-032-01.json" ||
		!strings.Contains(sr.Problems[0].Message, "SHA-512 mismatch") || !strings.Contains(sr.Problems[0].Message, "skipped") {
		t.Errorf("result %+v", sr)
	}
}

func TestCSAFSinceAndCap(t *testing.T) {
	tests := []struct {
		name      string
		since     time.Time
		max       int
		want      []string
		wantProbs string
		wantNext  []string // what a second sync fetches
	}{
		{name: "since", since: time.Date(2024, 2, 15, 0, 0, 0, 0, time.UTC),
			want: []string{"icsma-24-058-01.json", "icsa-24-263-05.json"}},
		{name: "cap without since keeps the newest", max: 1,
			want: []string{"icsa-24-263-05.json"}, wantProbs: "only the 1 newest advisories were fetched; 2 older"},
		{name: "cap with since continues next time", since: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), max: 2,
			want: []string{"icsa-24-032-01.json", "icsma-24-058-01.json"}, wantProbs: "1 more advisories were not fetched",
			wantNext: []string{"icsa-24-263-05.json"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := newFeedServer(t, &fakeClock{t: t0})
			st := newFakeStore()
			s := newTestSyncer(t, fs, st, Config{CSAFProviders: []string{fs.srv.URL + "/.well-known/csaf/provider-metadata.json"},
				Since: tt.since, MaxAdvisories: tt.max, Sources: []Source{CSAF}})
			res, err := s.Sync(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if got := csafDocs(st); !slices.Equal(got, tt.want) {
				t.Errorf("imported %v, want %v", got, tt.want)
			}
			if probs := problemsText(sourceResult(t, res, CSAF).Problems); !strings.Contains(probs, tt.wantProbs) {
				t.Errorf("problems %q, want %q", probs, tt.wantProbs)
			}
			if _, err := s.Sync(context.Background()); err != nil {
				t.Fatal(err)
			}
			if got := csafDocs(st)[len(tt.want):]; !slices.Equal(got, tt.wantNext) {
				t.Errorf("second sync imported %v, want %v", got, tt.wantNext)
			}
		})
	}
}

// TestCSAFDirectory: a provider with a directory distribution lists its
// advisories in changes.csv; hashes are looked for next to each file
// (.sha512, then .sha256) and checked when found.
func TestCSAFDirectory(t *testing.T) {
	fs := newFeedServer(t, &fakeClock{t: t0})
	fs.setFile("/dir/provider-metadata.json", []byte(`{"distributions":[{"directory_url":"`+fs.srv.URL+`/csaf/"}],"publisher":{"name":"CISA"}}`))
	fs.setFile("/csaf/changes.csv", []byte(`"2024/icsa-24-263-05.json","2024-09-19T06:00:00Z"
"2024/icsa-24-032-01.json","2024-02-01T07:00:00Z"
"2024/icsma-24-058-01.json","2024-02-27T07:00:00Z"
"/etc/passwd","2024-02-27T07:00:00Z"
`))
	// One advisory publishes only a SHA-256, a wrong one.
	fs.mu.Lock()
	delete(fs.files, "/csaf/2024/icsma-24-058-01.json.sha512")
	sum := sha256.Sum256([]byte("something else"))
	fs.files["/csaf/2024/icsma-24-058-01.json.sha256"] = []byte(hex.EncodeToString(sum[:]))
	// Another publishes none.
	delete(fs.files, "/csaf/2024/icsa-24-032-01.json.sha512")
	fs.mu.Unlock()

	st := newFakeStore()
	s := newTestSyncer(t, fs, st, Config{CSAFProviders: []string{fs.srv.URL + "/dir/provider-metadata.json"}, Sources: []Source{CSAF}})
	res, err := s.Sync(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := csafDocs(st); !slices.Equal(got, []string{"icsa-24-032-01.json", "icsa-24-263-05.json"}) {
		t.Errorf("imported %v", got)
	}
	probs := problemsText(sourceResult(t, res, CSAF).Problems)
	if !strings.Contains(probs, "icsma-24-058-01.json: SHA-256 mismatch") || !strings.Contains(probs, "changes.csv:4") {
		t.Errorf("problems:\n%s", probs)
	}
}

// TestCSAFFeedAsProvider: a ROLIE feed URL is accepted in place of the
// provider metadata; a provider that fails does not stop the others.
func TestCSAFFeedAsProvider(t *testing.T) {
	fs := newFeedServer(t, &fakeClock{t: t0})
	st := newFakeStore()
	s := newTestSyncer(t, fs, st, Config{CSAFProviders: []string{fs.srv.URL + "/missing/provider-metadata.json", fs.srv.URL + "/csaf/feed.json"},
		Sources: []Source{CSAF}, MaxRetries: -1})
	res, err := s.Sync(context.Background())
	if err == nil || !strings.Contains(err.Error(), "csaf: provider metadata: GET") || !strings.Contains(err.Error(), "404") {
		t.Fatalf("err = %v", err)
	}
	if sr := sourceResult(t, res, CSAF); sr.Documents != 3 {
		t.Errorf("result %+v", sr)
	}
}

func TestSelectEntries(t *testing.T) {
	day := func(d int) time.Time { return time.Date(2024, 1, d, 0, 0, 0, 0, time.UTC) }
	var es []advisoryEntry
	for _, d := range []int{5, 1, 3, 4, 2} {
		es = append(es, advisoryEntry{ID: string(rune('0' + d)), Updated: day(d)})
	}
	ids := func(es []advisoryEntry) string {
		var b strings.Builder
		for _, e := range es {
			b.WriteString(e.ID)
		}
		return b.String()
	}
	tests := []struct {
		mark     time.Time
		max      int
		want     string
		wantLeft int
	}{
		{time.Time{}, 10, "12345", 0},
		{time.Time{}, 2, "45", 3},
		{day(2), 10, "345", 0},
		{day(2), 2, "34", 1},
		{day(5), 10, "", 0},
		{time.Time{}, 0, "", 5},
	}
	for _, tt := range tests {
		got, left := selectEntries(es, tt.mark, tt.max)
		if ids(got) != tt.want || left != tt.wantLeft {
			t.Errorf("selectEntries(mark %s, max %d) = %q, %d; want %q, %d", tt.mark.Format(time.DateOnly), tt.max, ids(got), left, tt.want, tt.wantLeft)
		}
	}
}

func TestParseProvider(t *testing.T) {
	base, _ := url.Parse("https://psirt.example.com/.well-known/csaf/provider-metadata.json")
	doc := `{"distributions":[
		{"rolie":{"feeds":[{"tlp_label":"WHITE","url":"feed-white.json"},{"tlp_label":"AMBER","url":"https://psirt.example.com/amber.json"}]}},
		{"directory_url":"https://psirt.example.com/csaf/"}]}`
	locs, skipped, err := parseProvider(base, []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	want := []csafLocation{{url: "https://psirt.example.com/.well-known/csaf/feed-white.json"}, {url: "https://psirt.example.com/csaf/", directory: true}}
	if !slices.Equal(locs, want) || !slices.Equal(skipped, []string{"https://psirt.example.com/amber.json"}) {
		t.Errorf("got %v skipped %v", locs, skipped)
	}
	for _, bad := range []string{`[]`, `{"distributions":[]}`, `{"distributions":[{"rolie":{"feeds":[{"url":""}]}}]}`, `{"a":1,"a":2}`} {
		if _, _, err := parseProvider(base, []byte(bad)); err == nil {
			t.Errorf("parseProvider(%s) accepted", bad)
		}
	}
}
