package web

import (
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestFormatDuration(t *testing.T) {
	tests := []struct {
		in   time.Duration
		want string
	}{
		{0, ""},
		{-time.Hour, ""},
		{90 * time.Minute, "1h30m"},
		{72 * time.Hour, "3d"},
		{36 * time.Hour, "1d12h"},
		{24*time.Hour + 90*time.Second, "1d1m30s"},
		{1500 * time.Millisecond, "1s500ms"},
	}
	for _, tc := range tests {
		if got := formatDuration(tc.in); got != tc.want {
			t.Errorf("formatDuration(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestFormatNumber(t *testing.T) {
	tests := []struct {
		in   int64
		want string
	}{
		{0, "0"}, {7, "7"}, {999, "999"}, {1000, "1,000"}, {420000, "420,000"},
		{1234567, "1,234,567"}, {-1234, "-1,234"}, {-100, "-100"},
	}
	for _, tc := range tests {
		if got := formatNumber(tc.in); got != tc.want {
			t.Errorf("formatNumber(%d) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestSafeNext(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "/"},
		{"/services", "/services"},
		{"/assets?kind=plc&after=x", "/assets?kind=plc&after=x"},
		{"//evil.example/", "/"},
		{"/\\evil.example", "/"},
		{"https://evil.example/", "/"},
		{"javascript:alert(1)", "/"},
		{"services", "/"},
		{"/login", "/"},
		{"/x\r\nSet-Cookie: a=b", "/"},
		{"/\t/evil.example", "/"},
	}
	for _, tc := range tests {
		if got := safeNext(tc.in); got != tc.want {
			t.Errorf("safeNext(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// FuzzSafeNext checks that no input turns the post-login redirect into a
// link to another site.
func FuzzSafeNext(f *testing.F) {
	for _, s := range []string{"", "/", "/services", "//evil", "/\\evil", "https://x", "/%2F%2Fevil", "/a?b=c#d", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := safeNext(s)
		if !strings.HasPrefix(got, "/") || strings.HasPrefix(got, "//") || strings.ContainsAny(got, "\\\r\n\t") {
			t.Fatalf("safeNext(%q) = %q: not a local path", s, got)
		}
		u, err := url.Parse(got)
		if err != nil || u.Host != "" || u.Scheme != "" {
			t.Fatalf("safeNext(%q) = %q: parses as %+v, %v", s, got, u, err)
		}
	})
}

func TestPageURL(t *testing.T) {
	q := url.Values{"q": {"pump"}, "kind": {""}, "after": {"old"}, "owner": {"city-water"}}
	got := pageURL("/assets", q, "plc-0050")
	want := "/assets?after=plc-0050&owner=city-water&q=pump"
	if got != want {
		t.Errorf("pageURL = %q, want %q", got, want)
	}
	if got := pageURL("/assets", url.Values{"after": {"x"}}, ""); got != "/assets" {
		t.Errorf("first page URL = %q, want /assets", got)
	}
}
