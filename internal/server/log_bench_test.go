package server

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"bulwark/internal/testenv"
)

// BenchmarkLogRequests is the access log's cost per request, as serve
// writes it (JSON to an unbuffered file), against no log: to compare with
// the CPU of a TAXII page.
func BenchmarkLogRequests(b *testing.B) {
	f, err := os.Create(filepath.Join(b.TempDir(), "access.log"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) })
	for _, tc := range []struct {
		name string
		log  *slog.Logger
	}{{"none", slog.New(slog.DiscardHandler)}, {"json", slog.New(slog.NewJSONHandler(f, nil))}} {
		b.Run(tc.name, func(b *testing.B) {
			lh := logRequests(tc.log, h)
			req := httptest.NewRequest("GET", "/taxii2/bulwark/collections/5a0ad4a2-3c77-4f6e-9b7e-2e0d3f1c9a10/objects/?limit=100", nil)
			w := httptest.NewRecorder()
			b.ReportAllocs()
			cpu0 := testenv.CPUTime()
			for b.Loop() {
				lh.ServeHTTP(w, req)
			}
			b.ReportMetric(float64((testenv.CPUTime()-cpu0).Nanoseconds())/1000/float64(b.N), "cpu-µs/op")
		})
	}
}
