package training

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"bulwark"
)

// Caps of a CSV import. A file beyond them is refused with ETOOLARGE
// before anything is stored.
const (
	MaxCSVBytes   = 64 << 20
	MaxCSVRows    = 500_000
	maxCSVColumns = 256
	maxCSVRecord  = 64 << 10
	maxProblems   = 100
)

// Columns are the fields a CSV column can fill. Header names are folded
// (trimmed, lower case, spaces, hyphens and dots as underscores) and
// looked up in the alias tables below, which hold the names common LMS
// and phishing-platform exports use. Columns that map to nothing are
// ignored and named in the result: names, departments and the like are
// never read.
var (
	completionAliases = map[string]string{
		"person": "person", "email": "person", "e_mail": "person", "email_address": "person", "user_email": "person",
		"learner_email": "person", "user": "person", "username": "person", "user_name": "person", "login": "person",
		"employee_id": "person", "employee_number": "person", "staff_id": "person", "staff_number": "person", "user_id": "person",
		"learner": "person", "learner_id": "person",
		"completed_at": "completed_at", "completed": "completed_at", "completion_date": "completed_at", "completed_on": "completed_at",
		"date_completed": "completed_at", "completion_time": "completed_at", "completed_date": "completed_at", "completion_datetime": "completed_at",
		"finished_at": "completed_at", "passed_at": "completed_at", "completion_timestamp": "completed_at",
		"score": "score", "grade": "score", "final_score": "score", "percent": "score", "percentage": "score", "score_percent": "score",
		"status": "status", "completion_status": "status", "course_status": "status", "state": "status", "progress": "status", "enrollment_status": "status",
	}
	phishingAliases = map[string]string{
		"person": "person", "email": "person", "e_mail": "person", "email_address": "person", "recipient": "person", "target": "person",
		"target_email": "person", "user_email": "person", "user": "person", "username": "person", "employee_id": "person", "user_id": "person",
		"sent_at": "sent_at", "sent": "sent_at", "send_date": "sent_at", "sent_date": "sent_at", "date_sent": "sent_at",
		"delivered": "sent_at", "delivered_at": "sent_at", "email_sent": "sent_at",
		"opened_at": "opened_at", "opened": "opened_at", "open_date": "opened_at", "email_opened": "opened_at",
		"clicked_at": "clicked_at", "clicked": "clicked_at", "click_date": "clicked_at", "clicked_link": "clicked_at", "link_clicked": "clicked_at",
		"submitted_at": "submitted_at", "submitted": "submitted_at", "submitted_data": "submitted_at", "data_entered": "submitted_at",
		"data_entered_at": "submitted_at", "credentials_entered": "submitted_at",
		"reported_at": "reported_at", "reported": "reported_at", "report_date": "reported_at", "email_reported": "reported_at",
		"status": "status", "result": "status", "last_event": "status",
		"modified_date": "event_at", "modified_at": "event_at", "last_event_at": "event_at", "updated_at": "event_at", "event_date": "event_at",
	}
)

// FoldHeader folds a header name for matching ("Completion Date" →
// "completion_date").
func FoldHeader(h string) string {
	h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '-', '.', '/':
			return '_'
		}
		return r
	}, h)
}

// ReadOptions configure a CSV import.
type ReadOptions struct {
	// Columns maps header names (folded like FoldHeader) to fields, ahead
	// of the aliases; "-" ignores a column.
	Columns map[string]string
	// Pseudonymize turns a normalized person identifier into its
	// reference; the identifier itself is never kept.
	Pseudonymize func(normalized string) bulwark.PersonRef
	// MaxBytes caps the file (0: MaxCSVBytes) and MaxRows its data rows
	// (0: MaxCSVRows); neither can be raised beyond the defaults.
	MaxBytes int64
	MaxRows  int
	// Progress, when set, is called with the rows read so far (every
	// 10,000 rows and at the end).
	Progress func(rows int)
}

// Read is what a CSV file gave.
type Read struct {
	Completions []bulwark.CompletionRecord
	Phishing    []bulwark.PhishingResult
	Rows        int
	// Ignored lists the header names of columns that were not read.
	Ignored []string
}

// reader is one CSV file being read: its columns and every problem found.
type reader struct {
	name    string
	opt     ReadOptions
	cr      *csv.Reader
	col     map[string]int // field → column index
	header  []string
	probs   []bulwark.Problem
	omitted int
}

func (r *reader) add(line, col int, field, format string, args ...any) {
	if len(r.probs) >= maxProblems {
		r.omitted++
		return
	}
	r.probs = append(r.probs, bulwark.Problem{File: r.name, Line: line, Column: col, Field: field, Message: fmt.Sprintf(format, args...)})
}

// err returns the problems found as one EINVALID error, or nil.
func (r *reader) err() error {
	if len(r.probs) == 0 {
		return nil
	}
	msg := fmt.Sprintf("%s: %d problem(s), nothing imported; first: %s", r.name, len(r.probs)+r.omitted, r.probs[0])
	if r.omitted > 0 {
		msg += fmt.Sprintf(" (%d more not listed)", r.omitted)
	}
	return &bulwark.Error{Code: bulwark.EINVALID, Message: msg, Details: r.probs}
}

// countingReader caps the bytes read.
type countingReader struct {
	r    io.Reader
	n    int64
	max  int64
	name string
}

var errTooLarge = errors.New("too large")

func (c *countingReader) Read(p []byte) (int, error) {
	if c.n >= c.max {
		// Peek one byte: a file of exactly max bytes is fine.
		var one [1]byte
		k, err := c.r.Read(one[:])
		if k > 0 {
			return 0, errTooLarge
		}
		return 0, err
	}
	if int64(len(p)) > c.max-c.n {
		p = p[:c.max-c.n]
	}
	k, err := c.r.Read(p)
	c.n += int64(k)
	return k, err
}

func tooLarge(name, what string) error {
	return &bulwark.Error{Code: bulwark.ETOOLARGE, Message: fmt.Sprintf("%s: %s", name, what),
		Details: []bulwark.Problem{{File: name, Message: what}}}
}

// open starts reading a CSV file: BOM, header, column mapping. needed
// lists fields of which at least one must be present, per group.
func open(name string, rd io.Reader, opt ReadOptions, aliases map[string]string, fields []string) (*reader, error) {
	if opt.Pseudonymize == nil {
		return nil, errors.New("training: ReadOptions.Pseudonymize is required")
	}
	if opt.MaxBytes <= 0 || opt.MaxBytes > MaxCSVBytes {
		opt.MaxBytes = MaxCSVBytes
	}
	if opt.MaxRows <= 0 || opt.MaxRows > MaxCSVRows {
		opt.MaxRows = MaxCSVRows
	}
	br := bufio.NewReader(&countingReader{r: rd, max: opt.MaxBytes, name: name})
	if bom, _ := br.Peek(3); string(bom) == "\xef\xbb\xbf" {
		br.Discard(3)
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	cr.LazyQuotes = false
	r := &reader{name: name, opt: opt, cr: cr, col: map[string]int{}}
	header, err := cr.Read()
	if err == io.EOF {
		r.add(1, 0, "", "empty file: the first line must be a header naming the columns (%s)", strings.Join(fields, ", "))
		return r, r.err()
	}
	if err != nil {
		return r, r.readErr(err)
	}
	if len(header) > maxCSVColumns {
		r.add(1, 0, "", "the header has %d columns; at most %d are supported", len(header), maxCSVColumns)
		return r, r.err()
	}
	r.header = append([]string(nil), header...)
	custom := map[string]string{}
	for k, v := range opt.Columns {
		custom[FoldHeader(k)] = v
	}
	for j, h := range r.header {
		f := FoldHeader(h)
		field, ok := custom[f]
		if !ok {
			field, ok = aliases[f]
		}
		if !ok || field == "-" {
			continue
		}
		known := false
		for _, x := range fields {
			known = known || x == field
		}
		if !known {
			r.add(1, j+1, clip(h), "column mapped to %q, which is not one of %s", clip(field), strings.Join(fields, ", "))
			continue
		}
		if prev, dup := r.col[field]; dup {
			// Exports often carry an e-mail and a user ID: the e-mail is
			// the person, unless a mapping says otherwise.
			if field == "person" {
				rp, rj := personRank(custom, r.header[prev]), personRank(custom, h)
				if rj < rp {
					r.col[field] = j
				}
				if rj != rp {
					continue
				}
			}
			r.add(1, j+1, clip(h), "a second column for %s (column %d %q is the first); map one of them to \"-\"", field, prev+1, clip(r.header[prev]))
			continue
		}
		r.col[field] = j
	}
	if _, ok := r.col["person"]; !ok {
		r.add(1, 0, "person", "no column names the person: add one called person or email (or employee_id), or map yours with a column mapping")
	}
	return r, nil
}

// personRank orders columns that may name the person: a mapped one
// first, then e-mail addresses, user names, staff numbers and IDs.
func personRank(custom map[string]string, header string) int {
	f := FoldHeader(header)
	if custom[f] == "person" {
		return 0
	}
	switch {
	case strings.Contains(f, "mail") || f == "person" || f == "recipient" || f == "target":
		return 1
	case strings.Contains(f, "user") || f == "login" || f == "learner":
		return 2
	}
	return 3
}

// ignored lists the header names not read.
func (r *reader) ignored() []string {
	used := map[int]bool{}
	for _, j := range r.col {
		used[j] = true
	}
	var out []string
	for j, h := range r.header {
		if !used[j] {
			out = append(out, clip(h))
		}
	}
	return out
}

// readErr turns a CSV or reading error into a located problem.
func (r *reader) readErr(err error) error {
	var pe *csv.ParseError
	switch {
	case errors.Is(err, errTooLarge):
		return tooLarge(r.name, fmt.Sprintf("the file is larger than %s; split it", size(r.opt.MaxBytes)))
	case errors.As(err, &pe):
		if errors.Is(pe.Err, errTooLarge) {
			return tooLarge(r.name, fmt.Sprintf("the file is larger than %s; split it", size(r.opt.MaxBytes)))
		}
		r.add(pe.Line, pe.Column, "", "CSV syntax error: %v", pe.Err)
		return r.err()
	}
	return fmt.Errorf("read %s: %w", r.name, err)
}

// rows calls fn for every data row with its line; it stops on a syntax
// error, a cap or too many problems.
func (r *reader) rows(fn func(line int, rec []string)) (int, error) {
	n := 0
	for {
		rec, err := r.cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return n, r.readErr(err)
		}
		line, _ := r.cr.FieldPos(0)
		size := 0
		for _, c := range rec {
			size += len(c)
		}
		if size > maxCSVRecord {
			return n, tooLarge(r.name, fmt.Sprintf("line %d: a row longer than %d KiB is not a training record", line, maxCSVRecord>>10))
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue // blank line
		}
		if n++; n > r.opt.MaxRows {
			return n, tooLarge(r.name, fmt.Sprintf("more than %d rows; split the file", r.opt.MaxRows))
		}
		if len(rec) != len(r.header) {
			r.add(line, 0, "", "the row has %d cells but the header has %d columns", len(rec), len(r.header))
		} else {
			fn(line, rec)
		}
		if r.opt.Progress != nil && n%10_000 == 0 {
			r.opt.Progress(n)
		}
		if r.omitted > 0 {
			break // enough problems to fix first
		}
	}
	if r.opt.Progress != nil {
		r.opt.Progress(n)
	}
	return n, nil
}

// cell returns the trimmed cell of field in rec and its 1-based column
// (0 and "" when the file has no such column).
func (r *reader) cell(rec []string, field string) (string, int) {
	j, ok := r.col[field]
	if !ok {
		return "", 0
	}
	return strings.TrimSpace(rec[j]), j + 1
}

// person pseudonymizes the person cell of rec.
func (r *reader) person(line int, rec []string) (bulwark.PersonRef, bool) {
	v, col := r.cell(rec, "person")
	n := bulwark.NormalizePerson(v)
	switch {
	case v == "":
		r.add(line, col, "person", "empty: every row needs the person's e-mail address or staff number")
		return "", false
	case n == "":
		r.add(line, col, "person", "not a usable identifier (at most %d bytes of UTF-8)", bulwark.MaxPersonIDLen)
		return "", false
	}
	return r.opt.Pseudonymize(n), true
}

// timeLayouts are the date and time forms accepted: ISO 8601 / RFC 3339
// and its common spreadsheet variants. A time without a zone is UTC; a
// bare date is its UTC midnight.
var timeLayouts = []string{
	time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02 15:04:05Z07:00", "2006-01-02 15:04:05 MST",
	"2006-01-02T15:04", "2006-01-02 15:04", "2006-01-02", "2006-01-02 15:04:05.999999999 -0700 MST", "2006-01-02T15:04:05.999999999",
}

// ParseTime reads a time in one of the accepted forms.
func ParseTime(s string) (time.Time, bool) {
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			if t.Year() < 1970 || t.Year() > 9999 {
				return time.Time{}, false
			}
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// timeCell reads an optional time cell: ok false after a problem.
func (r *reader) timeCell(line int, rec []string, field string) (time.Time, bool) {
	v, col := r.cell(rec, field)
	if v == "" {
		return time.Time{}, true
	}
	t, ok := ParseTime(v)
	if !ok {
		r.add(line, col, field, "%q is not a date or time: use YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ (ISO 8601)", clip(v))
	}
	return t, ok
}

// completedStatuses and openStatuses are the status words of LMS exports.
var (
	completedStatuses = map[string]bool{"completed": true, "complete": true, "passed": true, "pass": true, "finished": true,
		"done": true, "completed_passed": true, "attended": true, "certified": true}
	openStatuses = map[string]bool{"not_started": true, "notstarted": true, "in_progress": true, "inprogress": true, "started": true,
		"not_attempted": true, "incomplete": true, "assigned": true, "enrolled": true, "registered": true, "overdue": true,
		"failed": true, "fail": true, "not_completed": true, "past_due": true, "pending": true, "": true}
)

// ReadCompletions reads completion records: one row per person with the
// person (e-mail or staff number), the completion time (empty when not
// completed), an optional score (0–100, "85" or "85%") and an optional
// status. When a status is given it decides: a completed status needs a
// completion time, any other leaves the person assigned but not
// completed. Every problem is reported with its line and column, and
// nothing is returned if there is any.
func ReadCompletions(name string, rd io.Reader, opt ReadOptions) (*Read, error) {
	r, err := open(name, rd, opt, completionAliases, []string{"person", "completed_at", "score", "status"})
	if err != nil {
		return nil, err
	}
	if _, okC := r.col["completed_at"]; !okC {
		r.add(1, 0, "completed_at", "no column gives the completion time: add one called completed_at (or completion_date), or map yours")
	}
	if err := r.err(); err != nil {
		return nil, err
	}
	out := &Read{Ignored: r.ignored()}
	n, err := r.rows(func(line int, rec []string) {
		p, ok := r.person(line, rec)
		at, okT := r.timeCell(line, rec, "completed_at")
		rec2 := bulwark.CompletionRecord{Person: p, CompletedAt: at}
		if v, col := r.cell(rec, "score"); v != "" {
			f, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(v, "%")), 64)
			switch {
			case err != nil || math.IsNaN(f) || math.IsInf(f, 0):
				r.add(line, col, "score", "%q is not a number", clip(v))
				ok = false
			case f < 0 || f > bulwark.MaxTrainingScore:
				r.add(line, col, "score", "%v is not between 0 and %d", f, bulwark.MaxTrainingScore)
				ok = false
			default:
				rec2.Score = &f
			}
		}
		if v, col := r.cell(rec, "status"); v != "" {
			s := FoldHeader(v)
			switch {
			case completedStatuses[s]:
				if at.IsZero() && okT {
					r.add(line, col, "status", "%q but no completion time: give the time the course was completed", clip(v))
					ok = false
				}
			case openStatuses[s]:
				rec2.CompletedAt = time.Time{}
			default:
				r.add(line, col, "status", "unknown status %q: use completed (or passed) for a completion; not started, in progress, failed… for none", clip(v))
				ok = false
			}
		}
		if ok && okT {
			out.Completions = append(out.Completions, rec2)
		}
	})
	if err != nil {
		return nil, err
	}
	if err := r.err(); err != nil {
		return nil, err
	}
	out.Rows = n
	return out, nil
}

// phishing statuses (GoPhish's words): each implies the events before it.
var phishStatus = map[string][]string{
	"email_sent": {"sent_at"}, "sent": {"sent_at"}, "delivered": {"sent_at"},
	"email_opened": {"sent_at", "opened_at"}, "opened": {"sent_at", "opened_at"},
	"clicked_link": {"sent_at", "opened_at", "clicked_at"}, "clicked": {"sent_at", "opened_at", "clicked_at"},
	"submitted_data": {"sent_at", "opened_at", "clicked_at", "submitted_at"}, "submitted": {"sent_at", "opened_at", "clicked_at", "submitted_at"},
	"email_reported": {"sent_at", "reported_at"}, "reported": {"sent_at", "reported_at"},
	// Not sent (yet): the person was targeted but counts nowhere.
	"scheduled": nil, "sending": nil, "queued": nil, "error": nil, "bounced": nil, "": nil,
}

var phishEvents = []string{"sent_at", "opened_at", "clicked_at", "submitted_at", "reported_at"}

// ReadPhishing reads phishing-simulation results: one row per recipient
// with the person and either a time per event (sent, opened, clicked,
// submitted, reported), a yes/no per event, or a status (GoPhish's "Email
// Sent" … "Submitted Data", "Email Reported") that implies the events
// before it. An event given as yes, or implied by a status, takes the
// time of the row's event_at (modified_date) column, else its sent time.
func ReadPhishing(name string, rd io.Reader, opt ReadOptions) (*Read, error) {
	fields := append(append([]string{"person"}, phishEvents...), "status", "event_at")
	r, err := open(name, rd, opt, phishingAliases, fields)
	if err != nil {
		return nil, err
	}
	_, hasSent := r.col["sent_at"]
	_, hasStatus := r.col["status"]
	if !hasSent && !hasStatus {
		r.add(1, 0, "sent_at", "no column says whether the e-mail was sent: add sent_at (or send_date) or status, or map yours")
	}
	if err := r.err(); err != nil {
		return nil, err
	}
	out := &Read{Ignored: r.ignored()}
	n, err := r.rows(func(line int, rec []string) {
		p, ok := r.person(line, rec)
		res := bulwark.PhishingResult{Person: p}
		at := map[string]time.Time{}
		yes := map[string]int{} // event → column of a yes without a time
		for _, f := range phishEvents {
			v, col := r.cell(rec, f)
			switch b := FoldHeader(v); b {
			case "", "false", "no", "n", "0", "-":
				continue
			case "true", "yes", "y", "1", "x":
				yes[f] = col
				continue
			}
			t, okT := ParseTime(v)
			if !okT {
				r.add(line, col, f, "%q is neither a time (YYYY-MM-DDThh:mm:ssZ) nor yes/no", clip(v))
				ok = false
				continue
			}
			at[f] = t
		}
		eventAt, okE := r.timeCell(line, rec, "event_at")
		ok = ok && okE
		if v, col := r.cell(rec, "status"); col > 0 {
			implied, known := phishStatus[FoldHeader(v)]
			if !known {
				r.add(line, col, "status", "unknown status %q: use Email Sent, Email Opened, Clicked Link, Submitted Data, Email Reported (or Scheduled, Error)", clip(v))
				ok = false
			}
			for _, f := range implied {
				if _, has := at[f]; !has {
					if _, y := yes[f]; !y {
						yes[f] = col
					}
				}
			}
		}
		fallback := eventAt
		if fallback.IsZero() {
			fallback = at["sent_at"]
		}
		for _, f := range phishEvents {
			col, y := yes[f]
			if !y {
				continue
			}
			if fallback.IsZero() {
				r.add(line, col, f, "happened, but the row gives no time for it: add a sent_at or event_at (modified_date) time")
				ok = false
				continue
			}
			at[f] = fallback
		}
		if !ok {
			return
		}
		if at["sent_at"].IsZero() && len(at) > 0 {
			_, col := r.cell(rec, "sent_at")
			r.add(line, col, "sent_at", "events without the e-mail being sent: give the sent time")
			return
		}
		res.SentAt, res.OpenedAt, res.ClickedAt, res.SubmittedAt, res.ReportedAt = at["sent_at"], at["opened_at"], at["clicked_at"], at["submitted_at"], at["reported_at"]
		out.Phishing = append(out.Phishing, res)
	})
	if err != nil {
		return nil, err
	}
	if err := r.err(); err != nil {
		return nil, err
	}
	out.Rows = n
	return out, nil
}

func size(n int64) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}

// clip shortens user text quoted in messages, on a rune boundary.
func clip(s string) string {
	return bulwark.Abbrev(strings.ToValidUTF8(s, "\ufffd"), 60)
}
