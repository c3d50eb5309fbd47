package bulwark

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestTruncate(t *testing.T) {
	for _, tc := range []struct {
		s    string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"exactly", 7, "exactly"},
		{"abcdef", 3, "abc"},
		{"abc", 0, ""},
		{"abc", -1, ""},
		{"aé", 2, "a"},                // é is 2 bytes: never half of it
		{"a€b", 3, "a"},               // € is 3 bytes
		{"a€b", 4, "a€"},              // the whole of €
		{"😀😀", 5, "😀"},                // 4-byte characters
		{"ab\xff\xfecd", 3, "ab\xff"}, // not UTF-8: cut where asked
	} {
		if got := Truncate(tc.s, tc.n); got != tc.want {
			t.Errorf("Truncate(%q, %d) = %q, want %q", tc.s, tc.n, got, tc.want)
		}
	}
}

func TestTruncateKeepsUTF8(t *testing.T) {
	s := strings.Repeat("añ€😀", 50)
	for n := 0; n <= len(s); n++ {
		got := Truncate(s, n)
		if len(got) > n || !utf8.ValidString(got) || !strings.HasPrefix(s, got) {
			t.Fatalf("Truncate(_, %d) = %q: %d bytes, valid %v", n, got, len(got), utf8.ValidString(got))
		}
		if n >= 3 && len(got) < n-3 {
			t.Fatalf("Truncate(_, %d) cut %d bytes, more than one character", n, n-len(got))
		}
	}
}

func TestAbbrev(t *testing.T) {
	if got := Abbrev("abcdef", 3); got != "abc…" {
		t.Errorf("Abbrev = %q", got)
	}
	if got := Abbrev("abc", 3); got != "abc" {
		t.Errorf("Abbrev of a short string = %q", got)
	}
	if got := Abbrev("aé", 2); got != "a…" {
		t.Errorf("Abbrev mid-character = %q", got)
	}
}
