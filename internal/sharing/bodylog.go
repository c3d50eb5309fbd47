package sharing

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"hash/fnv"
	"io"
	"os"
	"sync"
	"sync/atomic"
)

// bodyLog is a local, append-only copy of stored bodies in Seq order: a
// cache, never the source of truth (the database is). A version's body never
// changes once stored, so a page — a run of nearly consecutive versions — is
// one read of one contiguous stretch of the file instead of a hundred rows
// from the database. Each record carries its seq, a CRC-32C of its body and
// a key derived from the object's STIX id, version and date_added; a read
// whose record does not match what the index expects is not used (the
// database answers), so a stale or damaged file can cost speed, never serve
// the wrong object. date_added is in the key because a database restored
// from a backup and written to again hands out the same seqs a second time,
// possibly to the same id and version with another body; the store's clock
// tells the two insertions apart.
//
// The file is one process's: it is locked while open (where the platform
// has advisory locks), and a second process given the same path runs
// without a body log rather than share it. That is what makes it safe with
// PostgreSQL, where several servers share one database, each with its own
// log; the database identity in the header (from its random intel secret,
// created once per database and kept by dumps and restores) keeps a log
// from being used for another database.
//
// Layout: "BWKBODY2" | 16 bytes of database identity, then records
// seq (8) | length (4) | crc (4) | key (8) | body.
type bodyLog struct {
	mu   sync.RWMutex
	f    *os.File
	size int64
	base int64        // seq of off[0]
	off  []int64      // record offset per seq (0: not in the log)
	ln   []uint32     // body length per seq
	last int64        // highest seq appended
	hits atomic.Int64 // bodies served (tests check that reads use the log)
}

const (
	bodyMagic  = "BWKBODY2"
	bodyHeader = 8 + 16
	recHeader  = 24
	maxBody    = 64 << 20
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// bodyKey binds a record to one stored version: the object's STIX id, its
// version and when it was added (Unix microseconds).
func bodyKey(stixID string, version, added int64) uint64 {
	h := fnv.New64a()
	h.Write([]byte(stixID))
	var v [16]byte
	binary.LittleEndian.PutUint64(v[0:8], uint64(version))
	binary.LittleEndian.PutUint64(v[8:16], uint64(added))
	h.Write(v[:])
	return h.Sum64()
}

// errLogBusy: another process (or another Service) has the file open.
var errLogBusy = errors.New("body log in use by another process")

// openBodyLog opens (or starts afresh) the log at path for the database
// identified by secret, whose last seq is lastSeq. A file of another
// database, one that is ahead of the database (restored from a backup),
// or one that cannot be read is replaced. A torn last record is cut off.
func openBodyLog(path string, secret []byte, lastSeq int64) (*bodyLog, error) {
	id := sha256.Sum256(append([]byte("bulwark body log\x00"), secret...))
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open body log: %w", err)
	}
	if err := lockFile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("open body log %s: %w", path, err)
	}
	l := &bodyLog{f: f}
	if err := l.load(id[:16], lastSeq); err != nil {
		// Start afresh.
		if err := f.Truncate(0); err != nil {
			f.Close()
			return nil, fmt.Errorf("reset body log: %w", err)
		}
		var h [bodyHeader]byte
		copy(h[:8], bodyMagic)
		copy(h[8:], id[:16])
		if _, err := f.WriteAt(h[:], 0); err != nil {
			f.Close()
			return nil, fmt.Errorf("write body log: %w", err)
		}
		*l = bodyLog{f: f, size: bodyHeader}
	}
	return l, nil
}

var errBodyLog = errors.New("body log unusable")

func (l *bodyLog) load(id []byte, lastSeq int64) error {
	st, err := l.f.Stat()
	if err != nil || st.Size() < bodyHeader {
		return errBodyLog
	}
	r := bufio.NewReaderSize(io.NewSectionReader(l.f, 0, st.Size()), 4<<20)
	var h [bodyHeader]byte
	if _, err := io.ReadFull(r, h[:]); err != nil || string(h[:8]) != bodyMagic || !bytes.Equal(h[8:], id) {
		return errBodyLog
	}
	pos := int64(bodyHeader)
	var rh [recHeader]byte
	buf := make([]byte, 0, 64<<10)
	for {
		if _, err := io.ReadFull(r, rh[:]); err != nil {
			break // end, or a torn header
		}
		seq := int64(binary.LittleEndian.Uint64(rh[0:8]))
		n := binary.LittleEndian.Uint32(rh[8:12])
		if n > maxBody || seq <= l.last || seq > lastSeq {
			if seq > lastSeq {
				return errBodyLog // the database went back: trust nothing here
			}
			break
		}
		if cap(buf) < int(n) {
			buf = make([]byte, n)
		}
		buf = buf[:n]
		if _, err := io.ReadFull(r, buf); err != nil || crc32.Checksum(buf, castagnoli) != binary.LittleEndian.Uint32(rh[12:16]) {
			break
		}
		l.note(seq, pos, n)
		pos += recHeader + int64(n)
	}
	l.size = pos
	return l.f.Truncate(pos) // cut a torn tail
}

// note records the offset and length of seq (seqs only grow).
func (l *bodyLog) note(seq, pos int64, n uint32) {
	if len(l.off) == 0 {
		l.base = seq
	}
	for int64(len(l.off)) < seq-l.base {
		l.off = append(l.off, 0)
		l.ln = append(l.ln, 0)
	}
	l.off = append(l.off, pos)
	l.ln = append(l.ln, n)
	l.last = seq
}

// lastSeq is the highest seq appended.
func (l *bodyLog) lastSeq() int64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.last
}

// logRecord is one body to append.
type logRecord struct {
	seq  int64
	key  uint64
	body []byte
}

// append adds records (in increasing seq order, after every seq already
// there) with one write.
func (l *bodyLog) append(recs []logRecord) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	var buf bytes.Buffer
	var rh [recHeader]byte
	pos := l.size
	type noted struct {
		seq, pos int64
		n        uint32
	}
	var ns []noted
	for _, r := range recs {
		if r.seq <= l.last || len(r.body) > maxBody {
			continue
		}
		binary.LittleEndian.PutUint64(rh[0:8], uint64(r.seq))
		binary.LittleEndian.PutUint32(rh[8:12], uint32(len(r.body)))
		binary.LittleEndian.PutUint32(rh[12:16], crc32.Checksum(r.body, castagnoli))
		binary.LittleEndian.PutUint64(rh[16:24], r.key)
		buf.Write(rh[:])
		buf.Write(r.body)
		ns = append(ns, noted{r.seq, pos + int64(buf.Len()-len(r.body)-recHeader), uint32(len(r.body))})
	}
	if buf.Len() == 0 {
		return nil
	}
	if _, err := l.f.WriteAt(buf.Bytes(), l.size); err != nil {
		return fmt.Errorf("write body log: %w", err)
	}
	for _, n := range ns {
		l.note(n.seq, n.pos, n.n)
	}
	l.size += int64(buf.Len())
	return nil
}

func (l *bodyLog) offset(seq int64) (int64, uint32) {
	i := seq - l.base
	if len(l.off) == 0 || i < 0 || i >= int64(len(l.off)) {
		return 0, 0
	}
	return l.off[i], l.ln[i]
}

// read fills out[i] with the body of seqs[i] when the log holds it and its
// record matches keys[i]; the others stay nil. Records that lie close
// together in the file are read with one system call.
// readPool keeps the buffers pages' bodies are read into, for callers that
// give a page back (Page.Release) once it is written out: a page of 100 is
// about 65 KB, allocated and zeroed for every request otherwise. Buffers
// larger than maxPooledRead are left to the collector.
var readPool = sync.Pool{New: func() any { return new([]byte) }}

const maxPooledRead = 4 << 20

// read fills out[i] with the body of seqs[i] where the log holds it and
// its record matches keys[i]. The bodies alias buffers from readPool, which
// read returns; they may go back to the pool once the bodies are no longer
// used.
func (l *bodyLog) read(seqs []int64, keys []uint64, out [][]byte) (bufs []*[]byte) {
	l.mu.RLock()
	offs := make([]int64, len(seqs))
	lens := make([]int64, len(seqs))
	for i, s := range seqs {
		o, n := l.offset(s)
		offs[i], lens[i] = o, int64(n)
	}
	l.mu.RUnlock()
	for i := 0; i < len(seqs); {
		if offs[i] == 0 {
			i++
			continue
		}
		start := offs[i]
		end := start + recHeader + lens[i]
		j := i + 1
		for j < len(seqs) && offs[j] >= end && offs[j]-end <= 64<<10 && offs[j]+recHeader+lens[j]-start <= 32<<20 {
			end = offs[j] + recHeader + lens[j]
			j++
		}
		bp := readPool.Get().(*[]byte)
		if int64(cap(*bp)) < end-start {
			*bp = make([]byte, end-start)
		}
		bufs = append(bufs, bp)
		buf := (*bp)[:end-start] // ReadAt overwrites it; only its first n bytes are used
		n, _ := l.f.ReadAt(buf, start)
		buf = buf[:n]
		for k := i; k < j; k++ {
			p := offs[k] - start
			if offs[k] == 0 || p < 0 || p+recHeader > int64(len(buf)) {
				continue
			}
			rh := buf[p : p+recHeader]
			ln := int64(binary.LittleEndian.Uint32(rh[8:12]))
			if int64(binary.LittleEndian.Uint64(rh[0:8])) != seqs[k] || binary.LittleEndian.Uint64(rh[16:24]) != keys[k] ||
				ln != lens[k] || p+recHeader+ln > int64(len(buf)) {
				continue
			}
			body := buf[p+recHeader : p+recHeader+ln : p+recHeader+ln]
			if crc32.Checksum(body, castagnoli) != binary.LittleEndian.Uint32(rh[12:16]) {
				continue
			}
			out[k] = body
			l.hits.Add(1)
		}
		i = j
	}
	return bufs
}

// releaseBufs gives read's buffers back to the pool.
func releaseBufs(bufs []*[]byte) {
	for _, bp := range bufs {
		if cap(*bp) <= maxPooledRead {
			readPool.Put(bp)
		}
	}
}

func (l *bodyLog) close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.f.Close()
}
