package web

import (
	"strings"
	"testing"

	"bulwark"
)

func TestParseAffected(t *testing.T) {
	got := parseAffected("water-scada\n hmi-01:compromised ,pump-a:degraded\r\nns:odd-id:down\nx:exploded\n\n")
	var s []string
	for _, a := range got {
		s = append(s, a.ID+"="+string(a.Effect))
	}
	if want := "water-scada=down hmi-01=compromised pump-a=degraded ns:odd-id=down x:exploded=down"; strings.Join(s, " ") != want {
		t.Errorf("got %s\nwant %s", strings.Join(s, " "), want)
	}
}

// FuzzParseAffected: every line becomes one entry with an entry effect,
// and nothing is invented.
func FuzzParseAffected(f *testing.F) {
	for _, s := range []string{"a\nb:down", "a:compromised,b:degraded", "::", ":down", "a:", "\r\n,\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, a := range parseAffected(s) {
			if a.ID == "" || !bulwark.ValidEntryEffect(a.Effect) || !strings.Contains(s, a.ID) || strings.ContainsAny(a.ID, "\n\r,") {
				t.Fatalf("entry %+v from %q", a, s)
			}
		}
	})
}
