// Package cpe holds what Bulwark knows of CPE 2.3 names (NISTIR 7695) that
// more than one package needs. Matching (NISTIR 7696) will live here too.
package cpe

// Split splits a CPE 2.3 formatted string at its colons that are not
// quoted by a backslash: `cpe:2.3:a:x:web\:admin:1` has 6 parts.
func Split(s string) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++ // skip the quoted character
		case ':':
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}
