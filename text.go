package bulwark

import "unicode/utf8"

// Truncate returns s cut to at most n bytes. It cuts at a character
// boundary, so valid UTF-8 stays valid (PostgreSQL refuses to store a
// broken character); nothing marks the cut. Use it for values kept.
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	if n <= 0 {
		return ""
	}
	// s[n] is the first byte cut; if it continues a character, cut before
	// that character's first byte (at most UTFMax-1 bytes back).
	i := n
	for k := 0; k < utf8.UTFMax-1 && i > 0 && !utf8.RuneStart(s[i]); k++ {
		i--
	}
	if !utf8.RuneStart(s[i]) {
		i = n // not UTF-8 here anyway: cut at n
	}
	return s[:i]
}

// Abbrev returns s cut like Truncate and followed by "…" when it was cut.
// Use it to quote input in messages without echoing all of it.
func Abbrev(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return Truncate(s, n) + "…"
}
