package feed

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/go-json-experiment/json/jsontext"

	"bulwark"
	"bulwark/internal/jsonptr"
)

// maxProblems bounds the problems kept for one file, so that a file of a
// million bad records cannot exhaust memory through its error report.
const maxProblems = 1000

// jsonDecoderDepth is the nesting depth jsontext refuses beyond, whatever
// the options say.
const jsonDecoderDepth = 10000

func builtin(f Format) bool {
	switch f {
	case FormatNVD11, FormatNVD20, FormatKEV, FormatAnchore, FormatCVE5, FormatCVE5Lines, FormatEPSS:
		return true
	}
	return false
}

// job is one raw record on its way from the framing goroutine, through a
// decoding worker, to the caller's fn. Records are framed in file order,
// decoded in parallel, and handed to fn in file order again.
type job struct {
	raw  []byte // the record's bytes, owned by the job
	path string // JSON pointer of the record, "" for lines
	line int    // 1-based line for line formats
	env  envInfo

	// Set by the worker before done is closed.
	vuln  bulwark.Vulnerability
	prob  *bulwark.Problem
	fatal error
	done  chan struct{}
}

// envInfo is what a feed's envelope (or header line) says about all of its
// records, as far as it has been read.
type envInfo struct {
	catalogVersion string    // KEV
	released       time.Time // KEV dateReleased
	scoreDate      time.Time // EPSS
}

// decodeFunc maps one raw record. It returns a problem for a malformed
// record (Field relative to the record) and an error for a malformed file.
type decodeFunc func(raw []byte, env envInfo) (bulwark.Vulnerability, *bulwark.Problem, error)

// reader holds what one builtin Read needs.
type reader struct {
	name   string // as given, for messages
	doc    string // base name, for provenance and problems
	source string // provenance source
	opts   Options
	decode decodeFunc
}

func readBuiltin(ctx context.Context, name string, br *bufio.Reader, f Format, opts Options, emit func(Record) error) ([]bulwark.Problem, int, error) {
	rd := &reader{name: name, doc: filepath.Base(name), opts: opts}
	var frame func(*pipeline) error
	switch f {
	case FormatNVD11:
		rd.source, rd.decode = "nvd", decodeNVD11
		frame = func(p *pipeline) error { return rd.frameEnvelope(p, br, nvd11Envelope) }
	case FormatNVD20:
		rd.source, rd.decode = "nvd-api", decodeNVD20
		frame = func(p *pipeline) error { return rd.frameEnvelope(p, br, nvd20Envelope) }
	case FormatKEV:
		rd.source, rd.decode = "kev", decodeKEV
		frame = func(p *pipeline) error { return rd.frameEnvelope(p, br, kevEnvelope) }
	case FormatCVE5:
		rd.source, rd.decode = "cve5", decodeCVE5
		frame = func(p *pipeline) error { return rd.frameDocuments(p, br) }
	case FormatCVE5Lines:
		rd.source, rd.decode = "cve5", decodeCVE5
		frame = func(p *pipeline) error { return rd.frameLines(p, br, nil) }
	case FormatAnchore:
		rd.source, rd.decode = "anchore", decodeAnchore
		peek, _ := br.Peek(peekSize)
		if b := bytes.TrimLeft(peek, " \t\r\n"); len(b) > 0 && b[0] == '{' && !minified(b) {
			frame = func(p *pipeline) error { return rd.frameDocuments(p, br) }
		} else {
			frame = func(p *pipeline) error { return rd.frameLines(p, br, nil) }
		}
	case FormatEPSS:
		rd.source, rd.decode = "epss", decodeEPSS
		frame = func(p *pipeline) error { return rd.frameLines(p, br, epssHeader) }
	default:
		return nil, 0, fmt.Errorf("feed: no builtin reader for %s", f)
	}
	return rd.run(ctx, frame, emit)
}

// pipeline connects the framing goroutine, the decoding workers and the
// caller. Memory is bounded by a byte budget on the records in flight.
type pipeline struct {
	ctx   context.Context
	jobs  chan *job // to workers
	order chan *job // to the caller, in file order
	stop  chan struct{}

	mu       sync.Mutex
	cond     *sync.Cond
	inflight int64
	budget   int64
	stopped  bool

	// inline, when set, handles each record on the framing goroutine
	// instead (Options.Workers == 1); it returns false to stop.
	inline func(*job) bool
}

// send hands a framed record to the workers and the caller. It blocks
// while too many bytes are in flight and returns false once the caller
// has stopped.
func (p *pipeline) send(j *job) bool {
	if p.inline != nil {
		return p.inline(j)
	}
	n := int64(len(j.raw))
	p.mu.Lock()
	for !p.stopped && p.inflight > 0 && p.inflight+n > p.budget {
		p.cond.Wait()
	}
	stopped := p.stopped
	p.inflight += n
	p.mu.Unlock()
	if stopped {
		return false
	}
	j.done = make(chan struct{})
	select {
	case p.order <- j:
	case <-p.stop:
		return false
	}
	select {
	case p.jobs <- j:
	case <-p.stop:
		return false
	}
	return true
}

func (p *pipeline) release(n int) {
	p.mu.Lock()
	p.inflight -= int64(n)
	p.cond.Broadcast()
	p.mu.Unlock()
}

func (p *pipeline) halt() {
	p.mu.Lock()
	if !p.stopped {
		p.stopped = true
		close(p.stop)
	}
	p.cond.Broadcast()
	p.mu.Unlock()
}

// run starts the framing goroutine and the workers and hands records to
// emit in file order. It returns only after every goroutine has ended, so
// the caller's reader is not touched after Read returns.
func (rd *reader) run(ctx context.Context, frame func(*pipeline) error, emit func(Record) error) ([]bulwark.Problem, int, error) {
	var probs []bulwark.Problem
	skipped := 0
	// deliver hands one decoded record to emit, or records its problem.
	deliver := func(j *job) error {
		if j.fatal != nil {
			return j.fatal
		}
		if j.prob != nil {
			skipped++
			if len(probs) < maxProblems {
				probs = append(probs, *j.prob)
			}
			return nil
		}
		if err := ctx.Err(); err != nil {
			return bulwark.Errorf(bulwark.ECANCELED, "%s: reading canceled: %v", rd.doc, err)
		}
		return emit(Record{Vuln: j.vuln, Path: j.path, Line: j.line})
	}
	summary := func(err error) ([]bulwark.Problem, int, error) {
		if skipped > len(probs) {
			probs = append(probs, bulwark.Problem{File: rd.doc, Message: fmt.Sprintf("%d more malformed records not listed", skipped-len(probs))})
		}
		return probs, skipped, err
	}

	workers := rd.opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	if workers == 1 {
		var err error
		p := &pipeline{ctx: ctx}
		p.inline = func(j *job) bool {
			rd.work(j)
			err = deliver(j)
			freeRecord(j.raw)
			return err == nil
		}
		if ferr := frame(p); err == nil {
			err = ferr
		}
		return summary(err)
	}

	p := &pipeline{
		ctx:    ctx,
		jobs:   make(chan *job, 4*workers),
		order:  make(chan *job, 16*workers),
		stop:   make(chan struct{}),
		budget: max(8<<20, rd.opts.MaxRecordBytes),
	}
	p.cond = sync.NewCond(&p.mu)

	var frameErr error
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(p.order)
		defer close(p.jobs)
		frameErr = frame(p)
	}()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range p.jobs {
				select {
				case <-p.stop:
				default:
					rd.work(j)
				}
				close(j.done)
			}
		}()
	}

	err := func() error {
		for j := range p.order {
			<-j.done
			p.release(len(j.raw))
			freeRecord(j.raw) // decoded values never alias it
			if err := deliver(j); err != nil {
				return err
			}
		}
		return nil
	}()
	p.halt() // a framing goroutine blocked in send sees the stop
	wg.Wait()
	if err == nil {
		err = frameErr
	}
	return summary(err)
}

// recordPool recycles record buffers: a yearly feed would otherwise turn
// its whole size into garbage.
var recordPool = sync.Pool{New: func() any { return new([]byte) }}

const maxPooledRecord = 64 << 10

func cloneRecord(b []byte) []byte {
	if len(b) > maxPooledRecord {
		return bytes.Clone(b)
	}
	p := recordPool.Get().(*[]byte)
	return append((*p)[:0], b...)
}

func freeRecord(b []byte) {
	if cap(b) > maxPooledRecord {
		return
	}
	recordPool.Put(&b)
}

// work decodes one record and stamps its provenance.
func (rd *reader) work(j *job) {
	if d := depth(j.raw); d > rd.opts.MaxDepth-baseDepth(j.path) {
		j.fatal = fileError(bulwark.EINVALID, rd.name, j.path, fmt.Sprintf("nesting deeper than %d levels", rd.opts.MaxDepth))
		if j.line > 0 {
			j.fatal.(*bulwark.Error).Details[0].Line = j.line
		}
		return
	}
	v, prob, err := rd.decode(j.raw, j.env)
	if err != nil {
		j.fatal = err
		return
	}
	if prob != nil {
		prob.File = rd.doc
		prob.Field = j.path + prob.Field
		prob.Line = j.line
		j.prob = prob
		return
	}
	// A decoder leaves Sources empty, or sets one entry whose Modified is
	// the record's own modification time when that is not the
	// vulnerability's (an Anchore override's date).
	modified := v.Modified
	if len(v.Sources) == 1 {
		modified = v.Sources[0].Modified
	} else if modified.IsZero() {
		modified = j.env.released
	}
	sum := sha256.Sum256(j.raw)
	v.Sources = []bulwark.Provenance{{
		Source:    rd.source,
		Document:  rd.doc,
		FetchedAt: rd.opts.FetchedAt,
		Modified:  modified,
		Hash:      hex.EncodeToString(sum[:]),
	}}
	j.vuln = v
}

// baseDepth is the nesting depth at which a record at path starts: the
// number of reference tokens in its pointer.
func baseDepth(path string) int {
	return bytes.Count([]byte(path), []byte("/"))
}

// depth returns the deepest nesting of arrays and objects in a JSON value
// (0 for a scalar). It assumes nothing about validity and never fails.
// Strings are skipped with IndexByte, which makes the scan a small part of
// decoding a record.
func depth(b []byte) int {
	d, deepest := 0, 0
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '"':
			// Find the closing quote: one not preceded by an odd number
			// of backslashes.
			for {
				k := bytes.IndexByte(b[i+1:], '"')
				if k < 0 {
					return deepest
				}
				i += 1 + k
				n := 0
				for j := i - 1; j >= 0 && b[j] == '\\'; j-- {
					n++
				}
				if n%2 == 0 {
					break
				}
			}
		case '{', '[':
			d++
			deepest = max(deepest, d)
		case '}', ']':
			d--
		}
	}
	return deepest
}

// limitReader fails once more than limit bytes in total have been read
// through it. Framing raises the limit before each record so that no
// single record (or envelope token) can make the JSON decoder buffer more
// than MaxRecordBytes.
type limitReader struct {
	r     io.Reader
	n     int64
	limit int64
	hit   bool
}

var errTooLarge = errors.New("record exceeds the size cap")

func (l *limitReader) Read(p []byte) (int, error) {
	if l.n >= l.limit {
		l.hit = true
		return 0, errTooLarge
	}
	if int64(len(p)) > l.limit-l.n {
		p = p[:l.limit-l.n]
	}
	n, err := l.r.Read(p)
	l.n += int64(n)
	return n, err
}

// envelope describes the top-level object of a feed whose records sit in
// one array member.
type envelope struct {
	kind  string // "an NVD 1.1 feed", for messages
	array string // the member holding the records
	// header handles the other allowed members; names not in it are an
	// error. It returns why a value is wrong, or "".
	header map[string]func(env *envInfo, v jsontext.Value) string
}

// frameEnvelope streams the records of a {"...": [records]} feed.
func (rd *reader) frameEnvelope(p *pipeline, r io.Reader, spec envelope) error {
	max := rd.opts.MaxRecordBytes
	lim := &limitReader{r: r}
	dec := jsontext.NewDecoder(lim, jsontext.AllowDuplicateNames(true))
	allow := func() { lim.limit = dec.InputOffset() + max + 1 }
	fail := func(where string, err error) error { return rd.jsonError(where, err, lim) }

	allow()
	tok, err := dec.ReadToken()
	if err == io.EOF {
		return fileError(bulwark.EINVALID, rd.name, "", "empty file")
	}
	if err != nil {
		return fail("", err)
	}
	if tok.Kind() != '{' {
		return fileError(bulwark.EINVALID, rd.name, "", fmt.Sprintf("top level is a JSON %s, want the object of %s", jsonptr.KindName(tok.Kind()), spec.kind))
	}
	var env envInfo
	seen := map[string]bool{}
	for {
		allow()
		if dec.PeekKind() == '}' {
			dec.ReadToken()
			break
		}
		tok, err := dec.ReadToken()
		if err != nil {
			return fail("", err)
		}
		name := tok.String()
		where := "/" + jsonptr.Escape(name)
		if seen[name] {
			return fileError(bulwark.EINVALID, rd.name, where, fmt.Sprintf("duplicate member %q", name))
		}
		seen[name] = true
		if name == spec.array {
			if err := rd.frameArray(p, dec, allow, fail, where, &env); err != nil {
				return err
			}
			continue
		}
		check, ok := spec.header[name]
		if !ok {
			return fileError(bulwark.EINVALID, rd.name, where, fmt.Sprintf("unexpected member %q in %s (member names are case-sensitive)", name, spec.kind))
		}
		allow()
		v, err := dec.ReadValue()
		if err != nil {
			return fail(where, err)
		}
		if why := check(&env, v); why != "" {
			return fileError(bulwark.EINVALID, rd.name, where, why)
		}
	}
	allow()
	if _, err := dec.ReadToken(); err != io.EOF {
		if err == nil {
			return fileError(bulwark.EINVALID, rd.name, "", "data after the top-level object")
		}
		return fail("", err)
	}
	if !seen[spec.array] {
		return fileError(bulwark.EINVALID, rd.name, "", fmt.Sprintf("no %q array: not %s", spec.array, spec.kind))
	}
	return nil
}

func (rd *reader) frameArray(p *pipeline, dec *jsontext.Decoder, allow func(), fail func(string, error) error, where string, env *envInfo) error {
	allow()
	if k := dec.PeekKind(); k != '[' {
		if k == 0 {
			_, err := dec.ReadToken()
			return fail(where, err)
		}
		return fileError(bulwark.EINVALID, rd.name, where, fmt.Sprintf("is a JSON %s, want an array of records", jsonptr.KindName(k)))
	}
	dec.ReadToken()
	for i := 0; ; i++ {
		if i%256 == 0 {
			if err := p.ctx.Err(); err != nil {
				return bulwark.Errorf(bulwark.ECANCELED, "%s: reading canceled: %v", rd.doc, err)
			}
		}
		allow()
		if dec.PeekKind() == ']' {
			dec.ReadToken()
			return nil
		}
		path := where + "/" + strconv.Itoa(i)
		raw, err := dec.ReadValue()
		if err != nil {
			return fail(path, err)
		}
		j := &job{raw: cloneRecord(raw), path: path, env: *env}
		if !p.send(j) {
			return nil
		}
	}
}

// frameDocuments streams a sequence of top-level JSON values (one CVE 5
// record per file, or several concatenated).
func (rd *reader) frameDocuments(p *pipeline, r io.Reader) error {
	max := rd.opts.MaxRecordBytes
	lim := &limitReader{r: r}
	dec := jsontext.NewDecoder(lim, jsontext.AllowDuplicateNames(true))
	for i := 0; ; i++ {
		lim.limit = dec.InputOffset() + max + 1
		raw, err := dec.ReadValue()
		if err == io.EOF {
			if i == 0 {
				return fileError(bulwark.EINVALID, rd.name, "", "empty file")
			}
			return nil
		}
		if err != nil {
			return rd.jsonError("", err, lim)
		}
		if raw.Kind() != '{' {
			return fileError(bulwark.EINVALID, rd.name, "", fmt.Sprintf("top level is a JSON %s, want an object", jsonptr.KindName(raw.Kind())))
		}
		if !p.send(&job{raw: cloneRecord(raw), env: envInfo{}}) {
			return nil
		}
	}
}

// frameLines streams one record per line. header, if set, handles the
// lines before the first record (EPSS) and returns how many it consumed.
func (rd *reader) frameLines(p *pipeline, br *bufio.Reader, header func(rd *reader, br *bufio.Reader) (envInfo, int, error)) error {
	var env envInfo
	line := 0
	if header != nil {
		var err error
		env, line, err = header(rd, br)
		if err != nil {
			return err
		}
	}
	var buf []byte
	for {
		if line%256 == 0 {
			if err := p.ctx.Err(); err != nil {
				return bulwark.Errorf(bulwark.ECANCELED, "%s: reading canceled: %v", rd.doc, err)
			}
		}
		var err error
		buf, err = readLine(br, buf[:0], rd.opts.MaxRecordBytes)
		if err != nil && err != io.EOF {
			e := rd.lineError(line+1, err)
			return e
		}
		if len(buf) > 0 || err == nil {
			line++
		}
		if rec := bytes.TrimRight(buf, "\r\n"); len(bytes.TrimSpace(rec)) > 0 {
			if !p.send(&job{raw: cloneRecord(rec), line: line, env: env}) {
				return nil
			}
		}
		if err == io.EOF {
			return nil
		}
	}
}

var errLineTooLong = errors.New("line exceeds the size cap")

// readLine appends the next line (with its newline) to buf, failing once
// it grows beyond max bytes. It returns io.EOF with the last line when the
// input ends without a newline.
func readLine(br *bufio.Reader, buf []byte, max int64) ([]byte, error) {
	for {
		frag, err := br.ReadSlice('\n')
		if int64(len(buf)+len(frag)) > max+2 {
			return buf, errLineTooLong
		}
		buf = append(buf, frag...)
		if err == bufio.ErrBufferFull {
			continue
		}
		return buf, err
	}
}

func (rd *reader) lineError(line int, err error) error {
	e := fileError(bulwark.EINVALID, rd.name, "", fmt.Sprintf("reading line %d: %v", line, err))
	if errors.Is(err, errLineTooLong) {
		e = fileError(bulwark.ETOOLARGE, rd.name, "", fmt.Sprintf("line %d is longer than the %d-byte cap", line, rd.opts.MaxRecordBytes))
	}
	e.Details[0].Line = line
	return e
}

// jsonError turns a decoder error into a file error located at where (or
// where the decoder says, when it knows better).
func (rd *reader) jsonError(where string, err error, lim *limitReader) error {
	if lim.hit || errors.Is(err, errTooLarge) {
		return fileError(bulwark.ETOOLARGE, rd.name, where, fmt.Sprintf("value larger than the %d-byte cap", rd.opts.MaxRecordBytes))
	}
	var se *jsontext.SyntacticError
	if errors.As(err, &se) {
		ptr := string(se.JSONPointer)
		if len(ptr) < len(where) {
			ptr = where
		}
		why := "malformed JSON"
		if se.Err != nil {
			why = se.Err.Error()
		}
		if errors.Is(se.Err, io.ErrUnexpectedEOF) {
			why = "truncated: unexpected end of input"
		}
		return fileError(bulwark.EINVALID, rd.name, ptr, fmt.Sprintf("%s (byte offset %d)", why, se.ByteOffset))
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || err == io.EOF {
		// Callers handle a clean end of input themselves: any EOF
		// reaching here is inside the top-level value.
		return fileError(bulwark.EINVALID, rd.name, where, "truncated: unexpected end of input")
	}
	return fileError(bulwark.EINVALID, rd.name, where, fmt.Sprintf("reading: %v", err))
}
