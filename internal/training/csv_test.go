package training

import (
	"bytes"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"bulwark"
)

var testKey = []byte("0123456789abcdef0123456789abcdef")

func pseudo(n string) bulwark.PersonRef { return bulwark.Pseudonymize(testKey, n) }

func opts() ReadOptions { return ReadOptions{Pseudonymize: pseudo} }

func mustOpen(t *testing.T, name string) io.Reader {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.NewReader(b)
}

func at(s string) time.Time {
	t, ok := ParseTime(s)
	if !ok {
		panic(s)
	}
	return t
}

func TestReadCompletionsLMSExport(t *testing.T) {
	got, err := ReadCompletions("lms.csv", mustOpen(t, "completions-lms.csv"), opts())
	if err != nil {
		t.Fatal(err)
	}
	if got.Rows != 4 || len(got.Completions) != 4 {
		t.Fatalf("rows %d, records %d", got.Rows, len(got.Completions))
	}
	want := []struct {
		person string
		at     string
		score  float64 // -1: none
	}{
		{"ana.silva@water.example", "2026-03-02T14:10:00Z", 92},
		{"ben.okafor@water.example", "", -1}, // upper case folded; in progress
		{"chen.li@water.example", "2026-03-09T08:00:00Z", 85},
		{"dana.weiss@water.example", "", -1},
	}
	for i, w := range want {
		r := got.Completions[i]
		if r.Person != pseudo(w.person) {
			t.Errorf("row %d: person %s, want the pseudonym of %s", i, r.Person, w.person)
		}
		if (w.at == "") != r.CompletedAt.IsZero() || (w.at != "" && !r.CompletedAt.Equal(at(w.at))) {
			t.Errorf("row %d: completed %v, want %q", i, r.CompletedAt, w.at)
		}
		if (w.score < 0) != (r.Score == nil) || (r.Score != nil && *r.Score != w.score) {
			t.Errorf("row %d: score %v, want %v", i, r.Score, w.score)
		}
	}
	// The e-mail is the person; the user ID, names, department and
	// course are not read.
	if strings.Join(got.Ignored, "|") != "User ID|First Name|Last Name|Department|Course" {
		t.Errorf("ignored %q", got.Ignored)
	}
}

func TestReadPhishingGoPhish(t *testing.T) {
	got, err := ReadPhishing("gophish.csv", mustOpen(t, "phishing-gophish.csv"), opts())
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Phishing) != 5 {
		t.Fatalf("%d results", len(got.Phishing))
	}
	sent := at("2026-04-01T09:00:00Z")
	for i, w := range []struct {
		sent, opened, clicked, submitted, reported string
	}{
		{"2026-04-01T09:00:00Z", "", "", "", ""},
		// A status implies the events before it, at the modified time.
		{"2026-04-01T09:00:00Z", "2026-04-01T09:12:30Z", "2026-04-01T09:12:30Z", "", ""},
		{"2026-04-01T09:00:00Z", "2026-04-01T09:20:00Z", "2026-04-01T09:20:00Z", "2026-04-01T09:20:00Z", ""},
		{"2026-04-01T09:00:00Z", "", "", "", "2026-04-01T09:03:00Z"},
		{"", "", "", "", ""}, // Error: targeted, never sent
	} {
		r := got.Phishing[i]
		for name, pair := range map[string][2]any{"sent": {w.sent, r.SentAt}, "opened": {w.opened, r.OpenedAt}, "clicked": {w.clicked, r.ClickedAt},
			"submitted": {w.submitted, r.SubmittedAt}, "reported": {w.reported, r.ReportedAt}} {
			ws, gt := pair[0].(string), pair[1].(time.Time)
			if (ws == "") != gt.IsZero() || (ws != "" && !gt.Equal(at(ws))) {
				t.Errorf("row %d %s: %v, want %q", i, name, gt, ws)
			}
		}
	}
	_ = sent
	if strings.Join(got.Ignored, "|") != "id|ip|latitude|longitude|first_name|last_name|position" {
		t.Errorf("ignored %q", got.Ignored)
	}
}

func TestReadPhishingEventTimes(t *testing.T) {
	got, err := ReadPhishing("events.csv", mustOpen(t, "phishing-events.csv"), opts())
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Phishing) != 3 {
		t.Fatalf("%d results", len(got.Phishing))
	}
	a, b, c := got.Phishing[0], got.Phishing[1], got.Phishing[2]
	if !a.ReportedAt.Equal(at("2026-04-01 09:06:00")) || !a.ClickedAt.IsZero() || !b.ClickedAt.Equal(at("2026-04-01 09:11:00")) || !c.OpenedAt.IsZero() || c.SentAt.IsZero() {
		t.Errorf("results %+v", got.Phishing)
	}
}

func TestReadColumnMapping(t *testing.T) {
	src := "Mitarbeiter,Abschluss,Note\nM-17,2026-02-01,77\n"
	o := opts()
	o.Columns = map[string]string{"Mitarbeiter": "person", "abschluss": "completed_at", "NOTE": "score"}
	got, err := ReadCompletions("de.csv", strings.NewReader(src), o)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Completions) != 1 || got.Completions[0].Person != pseudo("m-17") || *got.Completions[0].Score != 77 {
		t.Errorf("%+v", got.Completions)
	}
	// "-" ignores a column that would otherwise map.
	o.Columns = map[string]string{"email": "-", "staff": "person"}
	got, err = ReadCompletions("x.csv", strings.NewReader("email,staff,completed\na@b.c,S1,2026-01-01\n"), o)
	if err != nil || got.Completions[0].Person != pseudo("s1") {
		t.Errorf("mapped away: %v %+v", err, got)
	}
}

// TestReadProblems: every problem is located (file:line:column, field) and
// says why; nothing is returned when there is one.
func TestReadProblems(t *testing.T) {
	for _, tc := range []struct {
		name, kind, src string
		want            []string // Problem.String() of each
	}{
		{"empty", Completions, "", []string{"f.csv:1: empty file"}},
		{"header only is fine", Completions, "email,completed_at\n", nil},
		{"no person column", Completions, "name,completed_at\nAna,2026-01-01\n", []string{"f.csv:1: person: no column names the person"}},
		{"no completion column", Completions, "email\na@b.c\n", []string{"f.csv:1: completed_at: no column gives the completion time"}},
		{"two completion columns", Completions, "email,completed,completion_date\n", []string{"f.csv:1:3: completion_date: a second column for completed_at"}},
		{"bad date", Completions, "email,completed_at\na@b.c,03/02/2026\n", []string{"f.csv:2:2: completed_at: \"03/02/2026\" is not a date or time"}},
		{"year 0001", Completions, "email,completed_at\na@b.c,0001-01-01\n", []string{"f.csv:2:2: completed_at: \"0001-01-01\" is not a date"}},
		{"bad score", Completions, "email,completed_at,score\na@b.c,2026-01-01,lots\nb@b.c,2026-01-01,101\nc@b.c,2026-01-01,NaN\n",
			[]string{"f.csv:2:3: score: \"lots\" is not a number", "f.csv:3:3: score: 101 is not between 0 and 100", "f.csv:4:3: score: \"NaN\" is not a number"}},
		{"empty person", Completions, "email,completed_at\n ,2026-01-01\n", []string{"f.csv:2:1: person: empty"}},
		{"long person", Completions, "email,completed_at\n" + strings.Repeat("a", 321) + ",2026-01-01\n", []string{"f.csv:2:1: person: not a usable identifier"}},
		{"invalid utf-8 person", Completions, "email,completed_at\n\xff\xfe,2026-01-01\n", []string{"f.csv:2:1: person: not a usable identifier"}},
		{"completed without date", Completions, "email,completed_at,status\na@b.c,,Completed\n", []string{"f.csv:2:3: status: \"Completed\" but no completion time"}},
		{"unknown status", Completions, "email,completed_at,status\na@b.c,,Maybe\n", []string{"f.csv:2:3: status: unknown status \"Maybe\""}},
		{"ragged row", Completions, "email,completed_at\na@b.c\n", []string{"f.csv:2: the row has 1 cells but the header has 2 columns"}},
		{"bare quote", Completions, "email,completed_at\na\"b@c,2026-01-01\n", []string{"f.csv:2:2: CSV syntax error: bare \" in non-quoted-field"}},
		{"truncated quote", Completions, "email,completed_at\n\"a@b.c,2026-01-01\n", []string{"f.csv:2:19: CSV syntax error: extraneous or missing \" in quoted-field"}},
		{"phishing: no sent column", Phishing, "email,clicked\na@b.c,yes\n", []string{"f.csv:1: sent_at: no column says whether the e-mail was sent"}},
		{"phishing: yes without time", Phishing, "email,sent,clicked\na@b.c,yes,yes\n",
			[]string{"f.csv:2:2: sent_at: happened, but the row gives no time for it", "f.csv:2:3: clicked_at: happened, but the row gives no time for it"}},
		{"phishing: bad time", Phishing, "email,sent_at,clicked_at\na@b.c,2026-01-01,soon\n", []string{"f.csv:2:3: clicked_at: \"soon\" is neither a time"}},
		{"phishing: unknown status", Phishing, "email,status,send_date\na@b.c,Pwned,2026-01-01\n", []string{"f.csv:2:2: status: unknown status \"Pwned\""}},
		{"phishing: click but not sent", Phishing, "email,sent_at,clicked_at\na@b.c,,2026-01-01\n", []string{"f.csv:2:2: sent_at: events without the e-mail being sent"}},
		{"mapping to an unknown field", Completions, "email,completed_at,dept\n", []string{"f.csv:1:3: dept: column mapped to \"department\""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := opts()
			if strings.Contains(tc.name, "unknown field") {
				o.Columns = map[string]string{"dept": "department"}
			}
			var err error
			var got *Read
			if tc.kind == Completions {
				got, err = ReadCompletions("f.csv", strings.NewReader(tc.src), o)
			} else {
				got, err = ReadPhishing("f.csv", strings.NewReader(tc.src), o)
			}
			if tc.want == nil {
				if err != nil {
					t.Fatalf("unexpected %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted: %+v", got)
			}
			if got != nil {
				t.Errorf("returned records with an error")
			}
			if bulwark.ErrorCode(err) != bulwark.EINVALID {
				t.Errorf("code %s", bulwark.ErrorCode(err))
			}
			ds := bulwark.ErrorDetails(err)
			if len(ds) != len(tc.want) {
				t.Fatalf("%d problems %v, want %d %v", len(ds), ds, len(tc.want), tc.want)
			}
			for i, w := range tc.want {
				if !strings.HasPrefix(ds[i].String(), w) {
					t.Errorf("problem %d = %q, want prefix %q", i, ds[i].String(), w)
				}
			}
		})
	}
}

// TestReadCaps: oversized files, rows and headers are refused with
// ETOOLARGE, quickly, and problems are capped.
func TestReadCaps(t *testing.T) {
	t.Run("file over the cap", func(t *testing.T) {
		o := opts()
		o.MaxBytes = 256 << 10
		big := io.MultiReader(strings.NewReader("email,completed_at\n"), &repeat{line: []byte("a@b.c,2026-01-01\n"), n: (256 << 10) / 17})
		_, err := ReadCompletions("big.csv", big, o)
		if bulwark.ErrorCode(err) != bulwark.ETOOLARGE || !strings.Contains(err.Error(), "larger than 262144 bytes") {
			t.Errorf("got %v, want too large", err)
		}
		// Exactly at the cap is fine.
		head := "email,completed_at\n"
		body := strings.Repeat("a@b.c,2026-01-01\n", ((256<<10)-len(head))/17)
		body += strings.Repeat("\n", (256<<10)-len(head)-len(body))
		if got, err := ReadCompletions("edge.csv", strings.NewReader(head+body), o); err != nil || got.Rows != ((256<<10)-len(head))/17 {
			t.Errorf("file of exactly the cap: %v", err)
		}
	})
	t.Run("the real cap counts bytes", func(t *testing.T) {
		c := &countingReader{r: &zeroes{}, max: MaxCSVBytes}
		n, err := io.Copy(io.Discard, c)
		if !errors.Is(err, errTooLarge) || n != MaxCSVBytes {
			t.Errorf("read %d: %v", n, err)
		}
	})
	t.Run("too many rows", func(t *testing.T) {
		o := opts()
		o.MaxRows = 1000
		many := io.MultiReader(strings.NewReader("email,completed_at\n"), &repeat{line: []byte("a,\n"), n: 1001})
		_, err := ReadCompletions("many.csv", many, o)
		if bulwark.ErrorCode(err) != bulwark.ETOOLARGE || !strings.Contains(err.Error(), "more than 1000 rows") {
			t.Errorf("got %v", err)
		}
		if got, err := ReadCompletions("many.csv", io.MultiReader(strings.NewReader("email,completed_at\n"), &repeat{line: []byte("a,\n"), n: 1000}), o); err != nil || got.Rows != 1000 {
			t.Errorf("exactly at the cap: %v", err)
		}
		// The cap cannot be raised.
		o.MaxRows, o.MaxBytes = MaxCSVRows+1, MaxCSVBytes+1
		r, _ := open("x.csv", strings.NewReader("email,completed_at\n"), o, completionAliases, []string{"person", "completed_at"})
		if r.opt.MaxRows != MaxCSVRows || r.opt.MaxBytes != MaxCSVBytes {
			t.Errorf("caps raised to %d rows, %d bytes", r.opt.MaxRows, r.opt.MaxBytes)
		}
	})
	t.Run("long row", func(t *testing.T) {
		_, err := ReadCompletions("long.csv", strings.NewReader("email,completed_at\n"+strings.Repeat("a", 70<<10)+",\n"), opts())
		if bulwark.ErrorCode(err) != bulwark.ETOOLARGE || !strings.Contains(err.Error(), "line 2") {
			t.Errorf("got %v", err)
		}
	})
	t.Run("wide header", func(t *testing.T) {
		_, err := ReadCompletions("wide.csv", strings.NewReader(strings.Repeat("x,", 300)+"email\n"), opts())
		if ds := bulwark.ErrorDetails(err); len(ds) != 1 || !strings.Contains(ds[0].Message, "301 columns") {
			t.Errorf("got %v", err)
		}
	})
	t.Run("problems capped", func(t *testing.T) {
		src := "email,completed_at\n" + strings.Repeat("a@b.c,never\n", 5000)
		_, err := ReadCompletions("bad.csv", strings.NewReader(src), opts())
		if ds := bulwark.ErrorDetails(err); len(ds) != maxProblems || !strings.Contains(err.Error(), "more not listed") {
			t.Errorf("%d problems: %.200v", len(ds), err)
		}
	})
}

// zeroes is an endless stream of zero bytes.
type zeroes struct{}

func (zeroes) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// repeat yields line n times.
type repeat struct {
	line []byte
	n    int
	off  int
}

func (r *repeat) Read(p []byte) (int, error) {
	w := 0
	for w < len(p) {
		if r.n == 0 {
			if w == 0 {
				return 0, io.EOF
			}
			return w, nil
		}
		c := copy(p[w:], r.line[r.off:])
		w += c
		r.off += c
		if r.off == len(r.line) {
			r.off = 0
			r.n--
		}
	}
	return w, nil
}

// TestReadHostile: formula cells, control characters, BOM, CRLF and
// script payloads are data: identifiers are pseudonymized, never echoed.
func TestReadHostile(t *testing.T) {
	src := "\ufeffEmail,Completed At\r\n\"=HYPERLINK(\"\"http://evil\"\")\",2026-01-01\r\n<script>alert(1)</script>,2026-01-02\r\n\"a,\nb\",2026-01-03\r\n"
	got, err := ReadCompletions("h.csv", strings.NewReader(src), opts())
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Completions) != 3 || got.Completions[0].Person != pseudo("=hyperlink(\"http://evil\")") {
		t.Errorf("%+v", got.Completions)
	}
	// A problem message quotes at most a clipped, valid UTF-8 piece.
	_, err = ReadCompletions("h.csv", strings.NewReader("email,completed_at\na@b.c,"+strings.Repeat("\xff", 500)+strings.Repeat("y", 500)+"\n"), opts())
	msg := bulwark.ErrorDetails(err)[0].Message
	if len(msg) > 200 || !utf8.ValidString(msg) {
		t.Errorf("message %q", msg)
	}
	// Missing pseudonymizer is a programming error, not a panic.
	if _, err := ReadCompletions("x", strings.NewReader("email,completed_at\n"), ReadOptions{}); err == nil {
		t.Error("no pseudonymizer accepted")
	}
}

func TestProgress(t *testing.T) {
	src := "email,completed_at\n" + strings.Repeat("a@b.c,2026-01-01\n", 25_000)
	var seen []int
	o := opts()
	o.Progress = func(n int) { seen = append(seen, n) }
	if _, err := ReadCompletions("p.csv", strings.NewReader(src), o); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 3 || seen[0] != 10_000 || seen[2] != 25_000 {
		t.Errorf("progress %v", seen)
	}
}
