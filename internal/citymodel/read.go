package citymodel

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"bulwark"
	"bulwark/internal/yamlfast"
)

// maxGzipRatio is the expansion ratio beyond which a gzip source is taken
// for a compression bomb (past the first gzipCheckAfter bytes). Text such as
// YAML and CSV rarely compresses better than 20:1; deflate cannot exceed
// about 1032:1.
const maxGzipRatio = 500

// gzipCheckAfter is how much a gzip source may expand before its ratio is
// checked: small files may compress very well without harm.
const gzipCheckAfter = 8 << 20

// run is the state of one pass over the sources of an import.
type run struct {
	p        *problems
	maxBytes int64 // cap on decompressed bytes over all sources
	docMax   int
	csv      CSVMapping

	read int64 // decompressed bytes read in this pass

	progress func(done, total int64)
	rawDone  int64 // bytes read from sources over both passes
	rawTotal int64
	lastProg int64

	broken bool // the current source cannot be read further
}

// sourceError is a failure to read a source (not a problem in its content).
type sourceError struct{ err error }

func (e *sourceError) Error() string { return e.err.Error() }
func (e *sourceError) Unwrap() error { return e.err }

// gzipError is a corrupt gzip stream.
type gzipError struct{ err error }

func (e *gzipError) Error() string { return e.err.Error() }

// rawReader counts the bytes of a source as stored, for progress.
type rawReader struct {
	r   io.Reader
	run *run
	n   int64
}

func (r *rawReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	r.n += int64(n)
	r.run.rawDone += int64(n)
	if r.run.progress != nil && (r.run.rawDone-r.run.lastProg >= 1<<20 || err == io.EOF) {
		r.run.lastProg = r.run.rawDone
		r.run.progress(r.run.rawDone, r.run.rawTotal)
	}
	if err != nil && err != io.EOF {
		err = &sourceError{err}
	}
	return n, err
}

// gzipGuard reports gzip corruption as such and stops compression bombs.
type gzipGuard struct {
	zr   *gzip.Reader
	raw  *rawReader
	name string
	n    int64
}

func (g *gzipGuard) Read(p []byte) (int, error) {
	n, err := g.zr.Read(p)
	g.n += int64(n)
	if g.n > gzipCheckAfter && g.n > maxGzipRatio*max(g.raw.n, 1) {
		return n, bulwark.Errorf(bulwark.ETOOLARGE, "%s: decompresses to more than %d times its compressed size; refusing it as a likely compression bomb", g.name, maxGzipRatio)
	}
	var se *sourceError
	if err != nil && err != io.EOF && !errors.As(err, &se) {
		err = &gzipError{err}
	}
	return n, err
}

// capReader enforces the cap on the total size of an import.
type capReader struct {
	r    io.Reader
	run  *run
	name string
}

func (c *capReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.run.read += int64(n)
	if c.run.read > c.run.maxBytes {
		return n, bulwark.Errorf(bulwark.ETOOLARGE, "%s: the import is larger than its cap of %s (decompressed); split it into several imports or raise the cap", c.name, byteSize(c.run.maxBytes))
	}
	return n, err
}

func byteSize(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return strconv.FormatInt(n>>30, 10) + " GiB"
	case n >= 1<<20 && n%(1<<20) == 0:
		return strconv.FormatInt(n>>20, 10) + " MiB"
	}
	return strconv.FormatInt(n, 10) + " bytes"
}

// openSource opens src for reading its decompressed content. A problem
// (file missing, not gzip) is reported and ok is false; err is fatal.
func (r *run) openSource(i int, src Source) (rd io.Reader, raw *rawReader, closer io.Closer, ok bool, err error) {
	at := pos{file: int32(i)}
	if src.Open == nil {
		return nil, nil, nil, false, fmt.Errorf("source %q has no Open function", src.Name)
	}
	rc, err := src.Open()
	if err != nil {
		switch {
		case errors.Is(err, fs.ErrNotExist):
			r.p.add(at, "", "file not found")
		case errors.Is(err, fs.ErrPermission):
			r.p.add(at, "", "permission denied")
		default:
			return nil, nil, nil, false, fmt.Errorf("open %s: %w", src.Name, err)
		}
		return nil, nil, nil, false, nil
	}
	if st, ok := rc.(interface{ Stat() (fs.FileInfo, error) }); ok {
		if fi, err := st.Stat(); err == nil && fi.IsDir() {
			rc.Close()
			r.p.add(at, "", "is a directory; name the files to import")
			return nil, nil, nil, false, nil
		}
	}
	raw = &rawReader{r: rc, run: r}
	// A small buffer keeps the compressed-bytes count (for the bomb
	// check) close to what gzip has consumed; large reads bypass it.
	br := bufio.NewReaderSize(raw, 4<<10)
	rd = br
	if magic, _ := br.Peek(2); bytes.Equal(magic, gzipMagic) {
		zr, err := gzip.NewReader(br)
		if err != nil {
			rc.Close()
			var se *sourceError
			if errors.As(err, &se) {
				return nil, nil, nil, false, fmt.Errorf("read %s: %w", src.Name, err)
			}
			r.p.add(at, "", "not a valid gzip file: %v", err)
			return nil, nil, nil, false, nil
		}
		zr.Multistream(true)
		rd = &gzipGuard{zr: zr, raw: raw, name: src.Name}
	}
	return &capReader{r: rd, run: r, name: src.Name}, raw, rc, true, nil
}

// fatal turns a read error into the error Import returns, or nil for a
// gzip problem, which is reported on the file.
func (r *run) fatal(i int, name string, err error) error {
	var be *bulwark.Error
	var ge *gzipError
	switch {
	case errors.As(err, &be):
		return err
	case errors.As(err, &ge):
		r.p.add(pos{file: int32(i)}, "", "corrupt gzip data: %v", ge.err)
		r.broken = true
		return nil
	}
	return fmt.Errorf("read %s: %w", name, err)
}

// readSource reads one source, decoding its entities in chunks of one
// document (YAML) or batchSize rows (CSV), checking them with c and passing
// them to emit.
func (r *run) readSource(ctx context.Context, i int, src Source, c *checker, emit func(*bulwark.City) error) error {
	rd, _, closer, ok, err := r.openSource(i, src)
	if err != nil || !ok {
		return err
	}
	defer closer.Close()
	r.broken = false
	if formatOf(src.Name) == formatCSV {
		err = r.readCSV(ctx, i, src.Name, rd, c, emit)
	} else {
		err = r.readYAML(ctx, i, src.Name, rd, c, emit)
	}
	if err != nil || r.broken {
		return err
	}
	return nil
}

// fastParse enables yamlfast; benchmarks turn it off to compare.
var fastParse = true

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): `)

// readYAML decodes the documents of a YAML stream. Documents are parsed
// and decoded on several cores while the stream is being split; their
// problems and cross-check records are then applied in document order, so
// the result is exactly that of reading them one by one.
func (r *run) readYAML(ctx context.Context, i int, name string, rd io.Reader, c *checker, emit func(*bulwark.City) error) error {
	var s sink
	if c != nil {
		s = c
	}
	sp := newSplitter(rd, name, r.docMax)
	workers := min(runtime.GOMAXPROCS(0), maxWorkers)
	if workers < 2 {
		for {
			if err := ctx.Err(); err != nil {
				return &bulwark.Error{Code: bulwark.ECANCELED, Message: "import canceled"}
			}
			doc, err := sp.Next()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return r.fatal(i, name, err)
			}
			out := &bulwark.City{}
			if !decodeDocument(r.p, int32(i), doc, s, out) {
				return nil // the file is not YAML; one problem is enough
			}
			if err := emit(out); err != nil {
				return err
			}
		}
	}
	return r.readYAMLParallel(ctx, i, name, sp, s, workers, emit)
}

// docResult is what a worker makes of one document.
type docResult struct {
	p      *problems
	rec    *recorder
	out    *bulwark.City
	isYAML bool
	size   int
}

// maxInFlight bounds the bytes of documents being decoded at once (beyond
// the first), so parallelism does not multiply the memory an import needs.
const maxInFlight = 32 << 20

func (r *run) readYAMLParallel(ctx context.Context, i int, name string, sp *splitter, s sink, workers int, emit func(*bulwark.City) error) error {
	type job struct {
		doc document
		res chan docResult
	}
	jobs := make(chan job)
	order := make(chan chan docResult, 2*workers)
	stop := make(chan struct{})
	var (
		splitErr error
		mu       sync.Mutex
		cond     = sync.NewCond(&mu)
		inFlight int
		stopped  bool
	)
	// Producer: split the stream, hand out documents in order.
	go func() {
		defer close(order)
		defer close(jobs)
		for {
			doc, err := sp.Next()
			if err != nil {
				if err != io.EOF {
					splitErr = err
				}
				return
			}
			doc.Data = bytes.Clone(doc.Data) // the splitter reuses its buffer
			mu.Lock()
			for inFlight > 0 && inFlight+len(doc.Data) > maxInFlight && !stopped {
				cond.Wait()
			}
			inFlight += len(doc.Data)
			mu.Unlock()
			ch := make(chan docResult, 1)
			select {
			case jobs <- job{doc, ch}:
			case <-stop:
				return
			}
			select {
			case order <- ch:
			case <-stop:
				return
			}
		}
	}()
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for j := range jobs {
				res := docResult{p: &problems{files: r.p.files}, out: &bulwark.City{}, size: len(j.doc.Data)}
				var ds sink
				if s != nil {
					res.rec = &recorder{}
					ds = res.rec
				}
				res.isYAML = decodeDocument(res.p, int32(i), j.doc, ds, res.out)
				j.res <- res
			}
		})
	}
	halt := func() {
		mu.Lock()
		if !stopped {
			stopped = true
			close(stop)
			cond.Broadcast()
		}
		mu.Unlock()
	}
	var err error
	for ch := range order {
		res := <-ch
		mu.Lock()
		inFlight -= res.size
		cond.Broadcast()
		mu.Unlock()
		if stopped {
			continue
		}
		if e := ctx.Err(); e != nil {
			err = &bulwark.Error{Code: bulwark.ECANCELED, Message: "import canceled"}
			halt()
			continue
		}
		r.p.merge(res.p)
		if res.rec != nil {
			res.rec.replay(s)
		}
		if !res.isYAML {
			halt() // the file is not YAML; one problem is enough
			continue
		}
		if e := emit(res.out); e != nil {
			err = e
			halt()
		}
	}
	wg.Wait()
	if err != nil {
		return err
	}
	if splitErr != nil && !stopped {
		return r.fatal(i, name, splitErr)
	}
	return nil
}

// decodeDocument parses one document and decodes it into out. It returns
// false when the input is not YAML text at all, so the rest of the file is
// skipped.
func decodeDocument(p *problems, file int32, doc document, c sink, out *bulwark.City) bool {
	off := doc.Line - 1
	if j := bytes.IndexByte(doc.Data, 0); j >= 0 || !utf8.Valid(doc.Data) {
		if j < 0 {
			j = invalidUTF8(doc.Data)
		}
		line := off + 1 + bytes.Count(doc.Data[:j], []byte{'\n'})
		p.add(pos{file: file, line: int32(line)}, "", "not a YAML text file: binary or non-UTF-8 data at line %d", line)
		return false
	}
	d := &decoder{p: p, c: c, file: file, lineOff: off, out: out}
	// Machine-written documents (exports, generated cities) parse about
	// ten times faster with yamlfast; anything else falls back to yaml.v3,
	// which builds the same tree and gives the error messages.
	if fastParse {
		if root, err := yamlfast.Parse(doc.Data); err == nil {
			d.document(root)
			return true
		}
	}
	dec := yaml.NewDecoder(bytes.NewReader(doc.Data))
	for {
		var root yaml.Node
		err := dec.Decode(&root)
		if err == io.EOF {
			return true
		}
		if err != nil {
			msg := err.Error()
			line := doc.Line
			if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
				n, _ := strconv.Atoi(m[1])
				line = off + n
				msg = msg[len(m[0]):]
			}
			msg = strings.TrimPrefix(msg, "yaml: ")
			if strings.Contains(msg, "tab") {
				msg += " (indent with spaces, not tabs)"
				if n := tabLine(doc.Data); n > 0 {
					line = off + n
				}
			}
			p.add(pos{file: file, line: int32(line)}, "", "not valid YAML: %s", msg)
			return true
		}
		d.document(&root)
	}
}

func invalidUTF8(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return len(b)
}

// tabLine returns the first line (1-based) indented with a tab, or 0.
func tabLine(b []byte) int {
	for n := 1; len(b) > 0; n++ {
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		indent := line[:len(line)-len(bytes.TrimLeft(line, " \t"))]
		if bytes.IndexByte(indent, '\t') >= 0 {
			return n
		}
	}
	return 0
}

// maxWorkers caps the goroutines decoding documents in parallel.
var maxWorkers = 4
