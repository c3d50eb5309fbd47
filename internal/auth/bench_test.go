package auth

import (
	"testing"

	"bulwark/internal/testenv"
)

// BenchmarkBearer is the CPU of authenticating one request by API token
// (a store lookup per request), to compare with the CPU of a TAXII page.
func BenchmarkBearer(b *testing.B) {
	f := newFixture(b, Options{})
	secret, _ := f.token(b, "cy@port.example")
	r := bearer(secret)
	b.ReportAllocs()
	cpu0 := testenv.CPUTime()
	for b.Loop() {
		if _, ok := f.svc.Authenticate(r); !ok {
			b.Fatal("token refused")
		}
	}
	b.ReportMetric(float64((testenv.CPUTime()-cpu0).Nanoseconds())/1000/float64(b.N), "cpu-µs/op")
}
