package sharing

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

func logRecs(from, to int) []logRecord {
	var out []logRecord
	for s := from; s <= to; s++ {
		out = append(out, logRecord{seq: int64(s), key: bodyKey(fmt.Sprintf("indicator--%d", s), int64(s), 1), body: []byte(fmt.Sprintf(`{"id":"indicator--%d","n":%d}`, s, s))})
	}
	return out
}

func readAll(l *bodyLog, seqs []int64) [][]byte {
	keys := make([]uint64, len(seqs))
	for i, s := range seqs {
		keys[i] = bodyKey(fmt.Sprintf("indicator--%d", s), s, 1)
	}
	out := make([][]byte, len(seqs))
	l.read(seqs, keys, out)
	return out
}

func TestBodyLog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bodies")
	secret := []byte("secret-a")
	l, err := openBodyLog(path, secret, 100)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.append(logRecs(1, 50)); err != nil {
		t.Fatal(err)
	}
	// A gap (seqs of deleted versions are never appended) and more.
	if err := l.append(logRecs(60, 70)); err != nil {
		t.Fatal(err)
	}
	check := func(l *bodyLog, what string) {
		t.Helper()
		seqs := []int64{3, 4, 5, 49, 50, 55, 60, 70, 71}
		got := readAll(l, seqs)
		for i, s := range seqs {
			want := []byte(fmt.Sprintf(`{"id":"indicator--%d","n":%d}`, s, s))
			if s > 50 && s < 60 || s > 70 {
				want = nil
			}
			if !bytes.Equal(got[i], want) {
				t.Errorf("%s: seq %d: %q, want %q", what, s, got[i], want)
			}
		}
	}
	check(l, "fresh")
	// A record asked for under another object's key is not used.
	out := make([][]byte, 1)
	l.read([]int64{3}, []uint64{bodyKey("indicator--4", 3, 1)}, out)
	if out[0] != nil {
		t.Error("body served for the wrong object")
	}
	// Nor under the same id and version added at another time: a restored
	// database that hands seq 3 out again to another body of the object.
	l.read([]int64{3}, []uint64{bodyKey("indicator--3", 3, 2)}, out)
	if out[0] != nil {
		t.Error("body served for another insertion of the same version")
	}
	// The file is one process's: a second opener is refused, not shared.
	if l2, err := openBodyLog(path, secret, 100); fileLocks && !errors.Is(err, errLogBusy) {
		t.Errorf("second opener: %v", err)
		if l2 != nil {
			l2.close()
		}
	}
	l.close()
	// Reopened, the records are found again.
	l, err = openBodyLog(path, secret, 100)
	if err != nil {
		t.Fatal(err)
	}
	check(l, "reopened")
	if l.lastSeq() != 70 {
		t.Errorf("last %d", l.lastSeq())
	}
	// Damage after loading is caught at read time.
	off, n := l.offset(5)
	l.f.WriteAt([]byte("X"), off+recHeader+int64(n)-2)
	if got := readAll(l, []int64{4, 5, 6}); got[0] == nil || got[1] != nil || got[2] == nil {
		t.Errorf("damaged record served: %q", got)
	}
	l.f.WriteAt([]byte("5"), off+recHeader+int64(n)-2)
	size := l.size
	l.close()
	// A torn last record is cut off; the rest stays.
	os.Truncate(path, size-3)
	l, _ = openBodyLog(path, secret, 100)
	if l.lastSeq() != 69 || readAll(l, []int64{69})[0] == nil {
		t.Errorf("after a torn tail: last %d", l.lastSeq())
	}
	l.close()
	// A flipped byte in a body makes that record unusable (CRC).
	b, _ := os.ReadFile(path)
	i := bytes.Index(b, []byte(`"n":7}`))
	b[i+4] = '8'
	os.WriteFile(path, b, 0o600)
	l, _ = openBodyLog(path, secret, 100)
	if l.lastSeq() != 6 { // load stops at the damaged record
		t.Errorf("after damage: last %d", l.lastSeq())
	}
	l.close()
	// Another database's log, or a database that went back, starts afresh.
	l, _ = openBodyLog(path, []byte("secret-b"), 100)
	if l.lastSeq() != 0 || readAll(l, []int64{3})[0] != nil {
		t.Error("another database's log used")
	}
	l.append(logRecs(1, 10))
	l.close()
	l, _ = openBodyLog(path, []byte("secret-b"), 5)
	if l.lastSeq() != 0 {
		t.Errorf("a log ahead of its database kept: last %d", l.lastSeq())
	}
	l.close()
}
