package cpe

import (
	"slices"
	"testing"
)

func TestSplit(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"cpe:2.3:a:x:y:1:*:*:*:*:*:*:*", []string{"cpe", "2.3", "a", "x", "y", "1", "*", "*", "*", "*", "*", "*", "*"}},
		{`cpe:2.3:a:advantech:webaccess\/scada:8.3.2`, []string{"cpe", "2.3", "a", "advantech", `webaccess\/scada`, "8.3.2"}},
		{`a:b\:c:d`, []string{"a", `b\:c`, "d"}},
		{`a\`, []string{`a\`}},
		{"", []string{""}},
	} {
		if got := Split(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("Split(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
