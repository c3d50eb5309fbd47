package sqlstore

import (
	"testing"

	"bulwark"
)

func TestValidIDMatchesDomain(t *testing.T) {
	for _, id := range []string{"", "a", "A9", "plc-0001", "a.b_c:d-e", "-a", ".a", "a b", "a/b", "é", "a\n", "0", "a-",
		string(make([]byte, 129)), "x" + string(make([]byte, 127))} {
		if got, want := validID(id), bulwark.ValidID(id); got != want {
			t.Errorf("validID(%q) = %v, bulwark.ValidID = %v", id, got, want)
		}
	}
}

func FuzzValidID(f *testing.F) {
	for _, s := range []string{"plc-1", "-x", "a:b", "a b", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		if got, want := validID(id), bulwark.ValidID(id); got != want {
			t.Errorf("validID(%q) = %v, bulwark.ValidID = %v", id, got, want)
		}
	})
}
