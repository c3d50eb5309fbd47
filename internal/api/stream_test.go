package api

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestStreamStart: the status and headers go with the first write, not
// before, so an error found before any byte can still be answered as one.
func TestStreamStart(t *testing.T) {
	rec := httptest.NewRecorder()
	sw := &streamStart{w: rec, start: func(h http.Header) { h.Set("Content-Type", "application/stix+json;version=2.1") }}
	if sw.started || rec.Code != 200 || rec.Header().Get("Content-Type") != "" || rec.Body.Len() != 0 {
		t.Fatalf("headers or body sent before the first write: %d %v", rec.Code, rec.Header())
	}
	sw.Write([]byte(`{"id":`))
	sw.Write([]byte(`"x"}`))
	if !sw.started || rec.Header().Get("Content-Type") != "application/stix+json;version=2.1" || rec.Body.String() != `{"id":"x"}` {
		t.Fatalf("after writes: started=%v headers=%v body=%q", sw.started, rec.Header(), rec.Body.String())
	}
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d, want 200", rec.Code)
	}
}
