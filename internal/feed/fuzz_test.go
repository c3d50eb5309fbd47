package feed

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"bulwark"
)

// fuzzRead reads data as format (on one goroutine: the pipeline is the
// same code either way and TestWorkersAgree checks that) and checks the invariants every read
// keeps, whatever the input: no panic; a failure is a *bulwark.Error with
// a located detail; each skipped record has one problem; every record has
// a valid ID and one provenance with a hash.
func fuzzRead(t *testing.T, data []byte, format Format) {
	n := 0
	st, probs, err := Read(context.Background(), "fuzz", bytes.NewReader(data), Options{Format: format, FetchedAt: fetched, MaxRecordBytes: 64 << 10, Workers: 1}, func(r Record) error {
		n++
		if !validCVEID(r.Vuln.ID) {
			t.Fatalf("record with bad ID %q", r.Vuln.ID)
		}
		if len(r.Vuln.Sources) != 1 || !hexHash.MatchString(r.Vuln.Sources[0].Hash) || r.Vuln.Sources[0].Document != "fuzz" {
			t.Fatalf("provenance %+v", r.Vuln.Sources)
		}
		return nil
	})
	if n != st.Records {
		t.Fatalf("%d records seen, stats say %d", n, st.Records)
	}
	if st.Skipped <= maxProblems && st.Skipped != len(probs) {
		t.Fatalf("%d skipped, %d problems", st.Skipped, len(probs))
	}
	for _, p := range probs {
		if p.File != "fuzz" || p.Message == "" {
			t.Fatalf("problem %+v", p)
		}
	}
	if err != nil {
		var e *bulwark.Error
		if !errors.As(err, &e) || len(e.Details) == 0 || e.Message == "" {
			t.Fatalf("error %v (%T) is not a located *bulwark.Error", err, err)
		}
		if e.Code != bulwark.EINVALID && e.Code != bulwark.ETOOLARGE && e.Code != bulwark.EUNSUPPORTED {
			t.Fatalf("code %q", e.Code)
		}
	}
}

func addSeeds(f *testing.F, names ...string) {
	for _, n := range names {
		f.Add(fixture(f, n))
	}
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"CVE_Items":[{"cve":{"CVE_data_meta":{"ID":"CVE-2024-0001"}}},{"cve":{"CVE_data_meta":{"ID":"CVE-2024-0001","ID":"x"}}}]}`))
	f.Add([]byte("{\"a\":\"\xff\"}\n[[[[[[\n"))
}

func FuzzReadNVD11(f *testing.F) {
	addSeeds(f, "nvd11.json")
	f.Fuzz(func(t *testing.T, data []byte) { fuzzRead(t, data, FormatNVD11) })
}

func FuzzReadNVD20(f *testing.F) {
	addSeeds(f, "nvd20.json", "nvd20-negate-edited.json")
	f.Fuzz(func(t *testing.T, data []byte) { fuzzRead(t, data, FormatNVD20) })
}

func FuzzReadAnchore(f *testing.F) {
	addSeeds(f, "anchore.jsonl")
	f.Fuzz(func(t *testing.T, data []byte) { fuzzRead(t, data, FormatAnchore) })
}

func FuzzReadCVE5(f *testing.F) {
	addSeeds(f, "cve5-basic-example.json")
	f.Fuzz(func(t *testing.T, data []byte) { fuzzRead(t, data, FormatCVE5) })
}

func FuzzReadCVE5Lines(f *testing.F) {
	addSeeds(f, "cve5.jsonl")
	f.Fuzz(func(t *testing.T, data []byte) { fuzzRead(t, data, FormatCVE5Lines) })
}

func FuzzReadKEV(f *testing.F) {
	addSeeds(f, "kev.json")
	f.Fuzz(func(t *testing.T, data []byte) { fuzzRead(t, data, FormatKEV) })
}

func FuzzReadEPSS(f *testing.F) {
	addSeeds(f, "epss.csv")
	f.Add([]byte("cve,epss,percentile\nCVE-2024-0001,NaN,0.5\nCVE-2024-0002,1e-3,1\n"))
	f.Fuzz(func(t *testing.T, data []byte) { fuzzRead(t, data, FormatEPSS) })
}

// FuzzDetect reads whatever Detect names: detection and reading must
// agree enough never to panic, whatever the bytes.
func FuzzDetect(f *testing.F) {
	addSeeds(f, "nvd11.json", "nvd20.json", "anchore.jsonl", "cve5.jsonl", "kev.json", "epss.csv")
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzRead(t, data, FormatUnknown)
	})
}
