package sim

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"testing"
)

func seedFile(f *testing.F, name string) []byte {
	b, err := os.ReadFile(filepath.Join("testdata", "neutral", name))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add(b[:len(b)/2])
	f.Add(bytes.ReplaceAll(b, []byte("\t"), []byte("\t\t")))
	return b
}

// FuzzReadGraph: hostile graph files are refused with an error, never a
// panic; what is accepted freezes into a model whose file reads back to
// the same file.
func FuzzReadGraph(f *testing.F) {
	seedFile(f, "graph.tsv")
	f.Add([]byte("bulwark-sim-graph\t1\nrecovery\t0\t\t0\tfixed:1\tfixed:1\ncrews\t\t\t1\nnode\ta\tasset\t\t0\t0\t0\t0\t0\t0\nedge\ta\ta\thard\t\nend\n"))
	f.Add([]byte("bulwark-sim-graph\t1\nend\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<16 {
			return
		}
		m, err := ReadModel(bytes.NewReader(data), "f.tsv")
		if err != nil {
			return
		}
		var a, b bytes.Buffer
		if err := WriteGraph(&a, m); err != nil {
			t.Fatal(err)
		}
		m2, err := ReadModel(bytes.NewReader(a.Bytes()), "again.tsv")
		if err != nil {
			t.Fatalf("written file refused: %v\n%s", err, a.Bytes())
		}
		if err := WriteGraph(&b, m2); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a.Bytes(), b.Bytes()) {
			t.Fatalf("not stable:\n%s\n%s", a.Bytes(), b.Bytes())
		}
	})
}

// FuzzReadDraws: hostile draws files for the golden model are refused with
// an error or replay to finite results within the horizon.
func FuzzReadDraws(f *testing.F) {
	seedFile(f, "draws.tsv")
	m, _ := goldenModel(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<16 {
			return
		}
		d, err := NewDrawsReader(bytes.NewReader(data), "f.tsv", m)
		if err != nil {
			return
		}
		var td TrialDraws
		for {
			err := d.Next(&td)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return
			}
		}
		// The whole file is valid: it replays.
		d, err = NewDrawsReader(bytes.NewReader(data), "f.tsv", m)
		if err != nil {
			t.Fatal(err)
		}
		if d.Header.Trials == 0 {
			return
		}
		r, err := RunDraws(context.Background(), m, d, Options{})
		if err != nil {
			t.Fatalf("valid file does not replay: %v", err)
		}
		for _, sr := range r.Services {
			if math.IsNaN(sr.MeanDown) || sr.MeanDown < 0 || sr.MeanDown > d.Header.Horizon+1e-9 {
				t.Fatalf("%s: mean downtime %v, horizon %v", sr.ID, sr.MeanDown, d.Header.Horizon)
			}
		}
	})
}

// FuzzReadOutcomes: hostile outcomes files are refused with an error; an
// accepted one compares equal to itself.
func FuzzReadOutcomes(f *testing.F) {
	seedFile(f, "outcomes.tsv")
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<16 {
			return
		}
		a, err := NewOutcomesReader(bytes.NewReader(data), "a.tsv")
		if err != nil {
			return
		}
		b, _ := NewOutcomesReader(bytes.NewReader(data), "b.tsv")
		n, err := CompareOutcomes(a, b, 0)
		if err != nil && !bytes.Contains([]byte(err.Error()), []byte("a.tsv:")) {
			t.Fatalf("file differs from itself after %d trials: %v", n, err)
		}
	})
}
