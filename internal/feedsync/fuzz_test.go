package feedsync

import (
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"
)

func FuzzParseNVDPage(f *testing.F) {
	f.Add(readTestdata(f, "nvd-cves.json"))
	f.Add([]byte(`{"resultsPerPage":0,"startIndex":0,"totalResults":0,"vulnerabilities":[]}`))
	f.Add([]byte(`{"startIndex":3,"totalResults":2,"vulnerabilities":[{},{}],"x":{"y":[1,2]}}`))
	f.Add([]byte(`{"startIndex":-1,"totalResults":1e3,"vulnerabilities":{}}`))
	f.Add([]byte(`{"startIndex":0,"totalResults":1,"vulnerabilities":[` + strings.Repeat("[", 20000)))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := parseNVDPage(b)
		if err != nil {
			return
		}
		if p.count < 0 || p.total < 0 || p.startIndex < 0 {
			t.Fatalf("negative counts %+v", p)
		}
		// Whatever the envelope parser accepts, the standard decoder
		// counts the same records.
		var env struct {
			Vulnerabilities []json.RawMessage `json:"vulnerabilities"`
		}
		if json.Unmarshal(b, &env) == nil && len(env.Vulnerabilities) != p.count {
			t.Fatalf("counted %d records, encoding/json sees %d", p.count, len(env.Vulnerabilities))
		}
	})
}

func FuzzParseCSAFLists(f *testing.F) {
	f.Add(readTestdata(f, "provider-metadata.json"))
	f.Add(readTestdata(f, "csaf-feed.json"))
	f.Add([]byte(`"2024/a.json","2024-09-19T06:00:00Z"` + "\n" + `"//evil.example/x.json","2024-09-19T06:00:00Z"`))
	f.Add([]byte(`{"feed":{"entry":[{"updated":"2024-01-01T00:00:00Z","link":[{"rel":"self","href":"javascript:alert(1)"},{"rel":"hash","href":"x.sha256"}]}]}}`))
	f.Add([]byte(`{"distributions":[{"directory_url":"../../up/"}]}`))
	base, _ := url.Parse("https://psirt.example.com/csaf/feed.json")
	dir, _ := url.Parse("https://psirt.example.com/csaf/")
	f.Fuzz(func(t *testing.T, b []byte) {
		if locs, _, err := parseProvider(base, b); err == nil {
			for _, l := range locs {
				if _, err := url.Parse(l.url); err != nil {
					t.Fatalf("location %q does not parse", l.url)
				}
			}
		}
		if es, _, err := parseROLIE(base, b); err == nil {
			for _, e := range es {
				if e.URL == "" || e.Updated.IsZero() && !strings.Contains(string(b), "0001-01-01") {
					t.Fatalf("entry %+v", e)
				}
			}
		}
		es, _, _ := parseChanges(dir, b)
		for _, e := range es {
			// A directory listing never leads off the provider's host.
			u, err := url.Parse(e.URL)
			if err != nil || u.Host != dir.Host || u.Scheme != dir.Scheme {
				t.Fatalf("changes.csv entry %q leaves %s", e.URL, dir)
			}
		}
		if _, left := selectEntries(es, time.Time{}, 1); len(es) > 1 && left != len(es)-1 {
			t.Fatalf("left %d of %d", left, len(es))
		}
	})
}

func FuzzCheckDigest(f *testing.F) {
	body := []byte(`{"document":{}}`)
	s512, s256 := sha512.Sum512(body), sha256.Sum256(body)
	f.Add(hex.EncodeToString(s512[:])+"  a.json\n", ".sha512")
	f.Add(hex.EncodeToString(s256[:]), ".sha256")
	f.Add(hex.EncodeToString(s512[:]), ".sha256")
	f.Add("zz", ".sha512")
	f.Add("", ".sha512")
	f.Fuzz(func(t *testing.T, hashFile, ext string) {
		hu, err := url.Parse("https://psirt.example.com/a.json" + ext)
		if err != nil {
			return
		}
		if checkDigest(hu, []byte(hashFile), body) == nil {
			got := strings.ToLower(strings.Fields(hashFile)[0])
			if got != hex.EncodeToString(s512[:]) && got != hex.EncodeToString(s256[:]) {
				t.Fatalf("accepted digest %q", got)
			}
		}
	})
}

func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"", "7", "-1", "99999999999999999999", "Sun, 22 Nov 2026 20:01:30 GMT", "Mon, 01 Jan 0001 00:00:00 GMT"} {
		f.Add(s)
	}
	now := time.Date(2026, 11, 22, 20, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		if d := parseRetryAfter(s, now); d < 0 {
			t.Fatalf("negative wait %s for %q", d, s)
		}
	})
}
