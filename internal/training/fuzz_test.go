package training

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"bulwark"
)

func fuzzSeeds(f *testing.F) {
	for _, name := range []string{"completions-lms.csv", "phishing-gophish.csv", "phishing-events.csv"} {
		b, err := os.ReadFile("testdata/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{"", "email\n", "email,completed_at,status\na,,Completed\n", "\"", "email,sent,clicked\na,yes,yes\n",
		"email,status,modified_date\na,Clicked Link,2026-01-01\n", "\xef\xbb\xbf\"a\"\"\",b\n"} {
		f.Add([]byte(s))
	}
}

// checkRead holds for any input: an error is a *bulwark.Error with a
// message and located problems within the input, or every record is a
// valid pseudonym with a score in range.
func checkRead(t *testing.T, data []byte, got *Read, err error) {
	if err != nil {
		if got != nil {
			t.Fatal("records returned with an error")
		}
		if bulwark.ErrorCode(err) == bulwark.EINTERNAL || bulwark.ErrorMessage(err) == "" {
			t.Fatalf("unclassified error %v", err)
		}
		lines := bytes.Count(data, []byte("\n")) + 1
		for _, p := range bulwark.ErrorDetails(err) {
			if p.Line < 0 || p.Line > lines || p.Message == "" {
				t.Fatalf("problem out of the input (%d lines): %+v", lines, p)
			}
		}
		return
	}
	for _, r := range got.Completions {
		if !bulwark.ValidPersonRef(r.Person) || (r.Score != nil && (*r.Score < 0 || *r.Score > 100)) {
			t.Fatalf("bad record %+v", r)
		}
	}
	for _, r := range got.Phishing {
		if !bulwark.ValidPersonRef(r.Person) || (r.SentAt.IsZero() && !(r.OpenedAt.IsZero() && r.ClickedAt.IsZero() && r.ReportedAt.IsZero())) {
			t.Fatalf("bad result %+v", r)
		}
	}
	if len(got.Completions)+len(got.Phishing) > got.Rows {
		t.Fatalf("%d records from %d rows", len(got.Completions)+len(got.Phishing), got.Rows)
	}
}

func FuzzReadCompletions(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := ReadCompletions("fuzz.csv", bytes.NewReader(data), opts())
		checkRead(t, data, got, err)
	})
}

func FuzzReadPhishing(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := ReadPhishing("fuzz.csv", bytes.NewReader(data), opts())
		checkRead(t, data, got, err)
	})
}

func FuzzParseTime(f *testing.F) {
	for _, s := range []string{"2026-01-01", "2026-01-01T10:00:00Z", "2026-01-01 10:00", "0000-01-01", "9999-12-31T23:59:59.999999999+14:00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tm, ok := ParseTime(strings.TrimSpace(s))
		if ok && (tm.Year() < 1970 || tm.Location().String() != "UTC") {
			t.Fatalf("%q → %v", s, tm)
		}
	})
}
