package stix

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"bulwark"
	"bulwark/internal/testenv"
)

// BenchmarkDecodeATTACKICS decodes and checks the MITRE ATT&CK for ICS
// bundle (1,826 objects, 3.3 MB) end to end: strict walk, canonical form,
// common properties, spec rules, dangling references.
func BenchmarkDecodeATTACKICS(b *testing.B) {
	data, err := os.ReadFile(filepath.Join(testenv.SharedData(b), "attack-ics", "ics-attack-18.1.json"))
	if err != nil {
		b.Skipf("ATT&CK for ICS bundle absent: %v", err)
	}
	benchDecode(b, data, 1826)
}

// BenchmarkDecodeFixture is the same over the committed markings fixture,
// for machines without the shared data set.
func BenchmarkDecodeFixture(b *testing.B) {
	data, err := os.ReadFile("testdata/roundtrip/markings-versions.json")
	if err != nil {
		b.Fatal(err)
	}
	benchDecode(b, data, 11)
}

func benchDecode(b *testing.B, data []byte, n int) {
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		bundle, err := DecodeBundle(bytes.NewReader(data), Limits{})
		if err != nil || len(bundle.Objects) != n {
			b.Fatalf("%v, %d objects", err, len(bundle.Objects))
		}
	}
}

// bench100k builds 100,000 sightings and vulnerabilities (half each), as a
// city-wide publication of findings would.
func bench100k(b *testing.B) []*Object {
	b.Helper()
	p := Publisher{IdentityID: OrganizationID("bench.example", "city"), TLP: Amber}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	objs := make([]*Object, 0, 100_000)
	for i := range 50_000 {
		id := "CVE-2026-" + strconv.Itoa(10000+i)
		v, err := p.Vulnerability(&bulwark.Vulnerability{ID: id, Published: t0, Modified: t0.Add(time.Hour),
			Description: "A vulnerability in a widely deployed controller.", CWEs: []string{"CWE-787"}})
		if err != nil {
			b.Fatal(err)
		}
		s, err := p.Finding(bulwark.Finding{AssetID: "asset-" + strconv.Itoa(i), VulnID: id, Status: bulwark.FindingOpen,
			FirstSeen: t0, LastSeen: t0.Add(time.Hour)}, v.ID(), p.IdentityID, Times{})
		if err != nil {
			b.Fatal(err)
		}
		objs = append(objs, v, s)
	}
	return objs
}

// BenchmarkEncode100k writes 100,000 objects as one canonical bundle.
func BenchmarkEncode100k(b *testing.B) {
	objs := bench100k(b)
	var size int64
	for _, o := range objs {
		size += int64(len(o.JSON()))
	}
	b.SetBytes(size)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := EncodeBundle(io.Discard, "bundle--0e8f5b1c-7a2d-4c3e-9f4a-5b6c7d8e9f0a", objs); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBuild measures one builder call (a vulnerability): marshal,
// strict re-read, spec and output checks.
func BenchmarkBuild(b *testing.B) {
	p := Publisher{IdentityID: OrganizationID("bench.example", "city"), TLP: Amber}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	v := &bulwark.Vulnerability{ID: "CVE-2026-10000", Published: t0, Modified: t0.Add(time.Hour),
		Description: "A vulnerability in a widely deployed controller.", CWEs: []string{"CWE-787"}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Vulnerability(v); err != nil {
			b.Fatal(err)
		}
	}
}
