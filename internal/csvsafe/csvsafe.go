// Package csvsafe keeps CSV exports from being read as formulas: a cell
// that a spreadsheet would evaluate (=, +, -, @, or a leading tab or carriage
// return, per OWASP's CSV injection advice) is prefixed with a quote.
package csvsafe

// Defuse keeps a spreadsheet from reading s as a formula.
func Defuse(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + s
	}
	return s
}
