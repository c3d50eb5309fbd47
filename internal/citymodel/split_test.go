package citymodel

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"bulwark"
	"bulwark/internal/testenv"
)

func TestSplitter(t *testing.T) {
	type doc struct {
		Line int
		Data string
	}
	tests := []struct {
		name string
		in   string
		want []doc
	}{
		{"single bare", "a: 1\nb: 2\n", []doc{{1, "a: 1\nb: 2\n"}}},
		{"no final newline", "a: 1", []doc{{1, "a: 1"}}},
		{"leading comments stay with first document", "# c\n---\na: 1\n---\nb: 2\n", []doc{{1, "# c\n---\na: 1\n"}, {4, "---\nb: 2\n"}}},
		{"content on marker line", "--- {a: 1}\n--- {b: 2}\n", []doc{{1, "--- {a: 1}\n"}, {2, "--- {b: 2}\n"}}},
		{"empty documents kept apart", "---\n---\na: 1\n", []doc{{1, "---\n"}, {2, "---\na: 1\n"}}},
		{"end marker", "a: 1\n...\n# trailing\n...\nb: 2\n", []doc{{1, "a: 1\n...\n"}, {5, "b: 2\n"}}},
		{"marker needs column 0 and a separator", "a: |\n  ---\n----\n--- x\n", []doc{{1, "a: |\n  ---\n----\n"}, {4, "--- x\n"}}},
		{"CRLF markers", "a: 1\r\n---\r\nb: 2\r\n", []doc{{1, "a: 1\r\n"}, {2, "---\r\nb: 2\r\n"}}},
		{"BOM stripped", "\xef\xbb\xbfa: 1\n", []doc{{1, "a: 1\n"}}},
		{"only comments", "# x\n\n", nil},
		{"empty", "", nil},
		{"directive", "%YAML 1.2\n---\na: 1\n", []doc{{1, "%YAML 1.2\n---\na: 1\n"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// A tiny bufio size would not exercise more, since the
			// minimum is 16; long lines are tested below.
			sp := newSplitter(strings.NewReader(tc.in), "x.yaml", 1<<20)
			var got []doc
			for {
				d, err := sp.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, doc{d.Line, string(d.Data)})
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("documents (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSplitterLongLines(t *testing.T) {
	long := strings.Repeat("x", 200<<10)
	in := "a: " + long + "\n--- " + long + "\nb: 1\n"
	sp := newSplitter(strings.NewReader(in), "x.yaml", 1<<20)
	d1, err := sp.Next()
	if err != nil || d1.Line != 1 || string(d1.Data) != "a: "+long+"\n" {
		t.Fatalf("first document: line %d, %d bytes, %v", d1.Line, len(d1.Data), err)
	}
	d2, err := sp.Next()
	if err != nil || d2.Line != 2 || string(d2.Data) != "--- "+long+"\nb: 1\n" {
		t.Fatalf("second document: line %d, %d bytes, %v", d2.Line, len(d2.Data), err)
	}
	if _, err := sp.Next(); err != io.EOF {
		t.Fatalf("want EOF, got %v", err)
	}
}

// endless yields n bytes of a repeating YAML pattern without a document
// marker, without holding them in memory.
type endless struct {
	pattern []byte
	n, off  int64
}

func (e *endless) Read(p []byte) (int, error) {
	if e.off >= e.n {
		return 0, io.EOF
	}
	k := 0
	for k < len(p) && e.off < e.n {
		c := copy(p[k:], e.pattern[e.off%int64(len(e.pattern)):])
		if rem := e.n - e.off; int64(c) > rem {
			c = int(rem)
		}
		k += c
		e.off += int64(c)
	}
	return k, nil
}

func (e *endless) Close() error { return nil }

// failFast bounds the CPU time rejecting a hostile input may take (about
// 0.3 s alone). The real checks are on bytes read and memory. CPU time, not
// wall time: under CI's parallel packages and the race detector a loaded
// machine took 30 s of wall time for the same work.
const failFast = 15 * time.Second

func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// TestIN02_OneGiBDocument feeds a generated 1 GiB single-document file:
// the import must fail fast, name the file and line, say to split it, read
// little more than the document cap and keep memory bounded.
func TestIN02_OneGiBDocument(t *testing.T) {
	head := "assets:\n"
	pattern := []byte("  - {id: a, name: A, owner: org}\n")
	var read *endless
	s := Source{Name: "huge.yaml", Open: func() (io.ReadCloser, error) {
		read = &endless{pattern: pattern, n: 1 << 30}
		return readCloser{io.MultiReader(strings.NewReader(head), read), read}, nil
	}}
	st := storedFixture()
	before := heapInUse()
	start := testenv.CPUTime()
	_, err := Import(context.Background(), st, []Source{s}, ImportOptions{})
	elapsed := testenv.CPUTime() - start
	after := heapInUse()
	if bulwark.ErrorCode(err) != bulwark.ETOOLARGE {
		t.Fatalf("want ETOOLARGE, got %v", err)
	}
	msg := bulwark.ErrorMessage(err)
	for _, w := range []string{"huge.yaml", "line 1", "64 MiB", "split"} {
		if !strings.Contains(msg, w) {
			t.Errorf("message %q does not mention %q", msg, w)
		}
	}
	if read.off > MaxDocumentBytes+1<<20 {
		t.Errorf("read %d bytes before failing; want about %d", read.off, MaxDocumentBytes)
	}
	if elapsed > failFast {
		t.Errorf("took %v to fail", elapsed)
	}
	if after > before && after-before > 16<<20 {
		t.Errorf("heap grew by %d MiB after the failed import", (after-before)>>20)
	}
	if st.commits != 0 {
		t.Error("store written")
	}
}

type readCloser struct {
	io.Reader
	io.Closer
}

func TestIN02_TotalCap(t *testing.T) {
	doc := svcHead + "---\n"
	var srcs []Source
	size := 0
	for i := range 3 {
		content := strings.ReplaceAll(doc, "id: s", fmt.Sprintf("id: s%d", i))
		size += len(content)
		srcs = append(srcs, src(fmt.Sprintf("f%d.yaml", i), content))
	}
	_, err := Import(context.Background(), storedFixture(), srcs, ImportOptions{MaxBytes: int64(size - 1)})
	if bulwark.ErrorCode(err) != bulwark.ETOOLARGE || !strings.Contains(bulwark.ErrorMessage(err), "f2.yaml") {
		t.Fatalf("want ETOOLARGE naming f2.yaml, got %v", err)
	}
	if _, err := Import(context.Background(), storedFixture(), srcs, ImportOptions{MaxBytes: int64(size)}); err != nil {
		t.Fatalf("import at the cap: %v", err)
	}
}

func gz(t testing.TB, b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

func TestGzipSources(t *testing.T) {
	st := storedFixture()
	data := gz(t, []byte(svcHead+"    colour: red\n"))
	s := Source{Name: "c.yaml.gz", Open: func() (io.ReadCloser, error) { return nopCloser{bytes.NewReader(data)}, nil }}
	_, err := Import(context.Background(), st, []Source{s}, ImportOptions{})
	checkProblems(t, err, []want{{"c.yaml.gz", 5, 5, "services[0].colour", "unknown field"}})

	corrupt := append(gz(t, []byte(svcHead))[:20:20], "garbage"...)
	s = Source{Name: "d.yaml.gz", Open: func() (io.ReadCloser, error) { return nopCloser{bytes.NewReader(corrupt)}, nil }}
	_, err = Import(context.Background(), st, []Source{s}, ImportOptions{})
	checkProblems(t, err, []want{{"d.yaml.gz", 0, 0, "", "corrupt gzip data"}})

	good := gz(t, []byte(svcHead))
	s = Source{Name: "e.yaml.gz", Open: func() (io.ReadCloser, error) { return nopCloser{bytes.NewReader(good)}, nil }}
	res, err := Import(context.Background(), st, []Source{s}, ImportOptions{})
	if err != nil || res.Services != 1 || res.Stats.Created != 1 {
		t.Fatalf("gzip import: %+v, %v", res, err)
	}
}

// TestIN02_GzipBomb: a small gzip file that expands to gigabytes of
// newlines is stopped early with a clear error.
func TestIN02_GzipBomb(t *testing.T) {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	chunk := bytes.Repeat([]byte("\n"), 1<<20)
	for range 96 { // 96 MiB of newlines (a valid, empty YAML document) in ~100 KiB
		zw.Write(chunk)
	}
	zw.Close()
	bomb := buf.Bytes()
	s := Source{Name: "bomb.yaml.gz", Open: func() (io.ReadCloser, error) { return nopCloser{bytes.NewReader(bomb)}, nil }}
	start := testenv.CPUTime()
	_, err := Import(context.Background(), storedFixture(), []Source{s}, ImportOptions{})
	if bulwark.ErrorCode(err) != bulwark.ETOOLARGE || !strings.Contains(err.Error(), "compression bomb") {
		t.Fatalf("want ETOOLARGE compression bomb, got %v", err)
	}
	if d := testenv.CPUTime() - start; d > failFast {
		t.Errorf("took %v", d)
	}
}

func TestTooManyProblems(t *testing.T) {
	var b strings.Builder
	b.WriteString("assets:\n")
	for i := range 1500 {
		fmt.Fprintf(&b, "  - {id: a%d, name: A, owner: nobody}\n", i)
	}
	_, err := validate(storedFixture(), src("many.yaml", b.String()))
	details := bulwark.ErrorDetails(err)
	if bulwark.ErrorMessage(err) != "city model has 1500 problems" || len(details) != MaxProblems+1 {
		t.Fatalf("message %q with %d details", bulwark.ErrorMessage(err), len(details))
	}
	if last := details[len(details)-1]; last.Message != "and 500 more problems" {
		t.Errorf("last detail %+v", last)
	}
}

func TestOpenFailure(t *testing.T) {
	_, err := Import(context.Background(), storedFixture(), []Source{FileSource("testdata/does-not-exist.yaml")}, ImportOptions{})
	checkProblems(t, err, []want{{"testdata/does-not-exist.yaml", 0, 0, "", "file not found"}})
	_, err = Import(context.Background(), storedFixture(), []Source{FileSource("testdata")}, ImportOptions{})
	checkProblems(t, err, []want{{"testdata", 0, 0, "", "is a directory"}})
	boom := errors.New("disk on fire")
	_, err = Import(context.Background(), storedFixture(), []Source{{Name: "x", Open: func() (io.ReadCloser, error) { return nil, boom }}}, ImportOptions{})
	if !errors.Is(err, boom) || bulwark.ErrorCode(err) != bulwark.EINTERNAL {
		t.Fatalf("got %v", err)
	}
}

func TestProgress(t *testing.T) {
	var calls [][2]int64
	st := newMemStore()
	_, err := Import(context.Background(), st, []Source{FileSource("testdata/city.yaml"), FileSource("testdata/assets.csv")}, ImportOptions{
		Progress: func(done, total int64) { calls = append(calls, [2]int64{done, total}) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(calls) < 2 {
		t.Fatalf("progress called %d times", len(calls))
	}
	last := calls[len(calls)-1]
	if last[0] != last[1] || last[1] == 0 {
		t.Errorf("last progress %v, want done == total > 0", last)
	}
	for i := 1; i < len(calls); i++ {
		if calls[i][0] < calls[i-1][0] || calls[i][1] != last[1] {
			t.Errorf("progress not monotonic with a fixed total: %v", calls)
			break
		}
	}
}

// TestWriteFailureRollsBack: an error from the store in the write pass is
// returned (wrapped) and nothing is committed.
func TestWriteFailureRollsBack(t *testing.T) {
	st := storedFixture()
	st.failPut = bulwark.Errorf(bulwark.EUNAVAILABLE, "database is down")
	_, err := Import(context.Background(), st, []Source{FileSource("testdata/city.yaml")}, ImportOptions{})
	if bulwark.ErrorCode(err) != bulwark.EUNAVAILABLE || st.commits != 0 {
		t.Fatalf("got %v, %d commits", err, st.commits)
	}
}

// TestIN02_DeepNesting: deeply nested flow collections and block mappings
// are refused without exhausting the stack.
func TestIN02_DeepNesting(t *testing.T) {
	for name, doc := range map[string]string{
		"flow":             "assets: " + strings.Repeat("[", 1000000) + strings.Repeat("]", 1000000) + "\n",
		"block":            deepBlock(2000),
		"block sequences":  "assets:\n" + strings.Repeat("- ", 50000) + "x\n",
		"flow mapping":     "services:\n  - " + strings.Repeat("{a: ", 200000) + "1" + strings.Repeat("}", 200000) + "\n",
		"flow, many lines": "assets: " + strings.Repeat("[\n", 100000) + strings.Repeat("]", 100000) + "\n",
	} {
		start := testenv.CPUTime()
		_, err := validate(storedFixture(), src("deep.yaml", doc))
		if bulwark.ErrorCode(err) != bulwark.EINVALID {
			t.Errorf("%s: got %v", name, err)
		}
		if d := testenv.CPUTime() - start; d > failFast {
			t.Errorf("%s: took %v", name, d)
		}
	}
}

func deepBlock(n int) string {
	var b strings.Builder
	b.WriteString("services:\n")
	for i := range n {
		b.WriteString(strings.Repeat(" ", i+2))
		b.WriteString("a:\n")
	}
	return b.String()
}

// TestIN02_AliasBomb: the "billion laughs" document is refused at once,
// without expanding anything.
func TestIN02_AliasBomb(t *testing.T) {
	doc := "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
	for i, prev := range "abcdefgh" {
		name := string(rune('b' + i))
		doc += name + ": &" + name + " [" + strings.Repeat("*"+string(prev)+",", 8) + "*" + string(prev) + "]\n"
	}
	doc += "assets: *i\n"
	start := testenv.CPUTime()
	_, err := validate(storedFixture(), src("lol.yaml", doc))
	if d := testenv.CPUTime() - start; bulwark.ErrorCode(err) != bulwark.EINVALID || d > failFast {
		t.Fatalf("got %v after %v of CPU", err, d)
	}
	if !strings.Contains(err.Error(), "aliases") && !strings.Contains(err.Error(), "anchors") && !strings.Contains(err.Error(), "unknown field") {
		t.Errorf("unhelpful error: %v", err)
	}
}

// TestIN02_ManyEntities: a document may hold more than maxList entities
// (only its size is capped), while lists inside an entity are capped.
func TestIN02_ManyEntities(t *testing.T) {
	var b strings.Builder
	b.WriteString("assets:\n")
	for i := range maxList + 5 {
		fmt.Fprintf(&b, "  - {id: a%d, name: A, owner: org}\n", i)
	}
	if _, err := validate(storedFixture(), src("many.yaml", b.String())); err != nil {
		t.Fatalf("document with %d assets: %v", maxList+5, err)
	}
	doc := "assets:\n  - {id: a, name: A, owner: org, cpe: [" + strings.Repeat("'cpe:2.3:h:a:b:-:*:*:*:*:*:*:*', ", maxList+1) + "]}\n"
	_, err := validate(storedFixture(), src("cpes.yaml", doc))
	checkProblems(t, err, []want{{"cpes.yaml", 2, 39, "assets[0].cpe", "list has 10001 entries; at most 10000"}})
}

// TestIN05_ParallelSameAsSequential: decoding documents in parallel gives
// exactly the problems (order, first-occurrence of duplicates, cap) and
// the stored state of decoding them one by one.
func TestIN05_ParallelSameAsSequential(t *testing.T) {
	var b strings.Builder
	for d := range 40 {
		b.WriteString("---\nassets:\n")
		for i := range 60 {
			id := fmt.Sprintf("a%d", (d*60+i)%1700) // duplicates across documents
			owner := "org"
			if i%7 == 0 {
				owner = "nobody"
			}
			fmt.Fprintf(&b, "  - {id: %s, name: A, owner: %s, count: %d}\n", id, owner, i%5)
		}
		if d == 20 {
			b.WriteString("  - [not, valid\n")
		}
	}
	input := b.String()
	run := func(workers int) (string, error) {
		defer func(old int) { maxWorkers = old }(maxWorkers)
		maxWorkers = workers
		_, err := validate(storedFixture(), src("p.yaml", input))
		return fmt.Sprint(bulwark.ErrorDetails(err)), err
	}
	seq, err1 := run(1)
	if bulwark.ErrorCode(err1) != bulwark.EINVALID || len(bulwark.ErrorDetails(err1)) != MaxProblems+1 {
		t.Fatalf("sequential: %d details, %v", len(bulwark.ErrorDetails(err1)), bulwark.ErrorMessage(err1))
	}
	for range 5 {
		par, err2 := run(4)
		if bulwark.ErrorMessage(err1) != bulwark.ErrorMessage(err2) || seq != par {
			t.Fatalf("parallel differs: %q vs %q", bulwark.ErrorMessage(err2), bulwark.ErrorMessage(err1))
		}
	}
	// Valid input stores the same in both modes.
	b.Reset()
	for d := range 30 {
		b.WriteString("---\nassets:\n")
		for i := range 50 {
			fmt.Fprintf(&b, "  - {id: a%d-%d, name: A, owner: org, count: %d}\n", d, i, i+1)
		}
	}
	var snaps []bulwark.City
	for _, w := range []int{1, 4} {
		old := maxWorkers
		maxWorkers = w
		st := storedFixture()
		_, err := Import(context.Background(), st, []Source{src("g.yaml", b.String())}, ImportOptions{})
		maxWorkers = old
		if err != nil {
			t.Fatal(err)
		}
		snaps = append(snaps, st.snapshot())
	}
	if len(snaps[0].Assets) != 1500 {
		t.Fatalf("stored %d assets", len(snaps[0].Assets))
	}
	if diff := cmp.Diff(snaps[0], snaps[1]); diff != "" {
		t.Errorf("stored state differs:\n%s", diff)
	}
}
