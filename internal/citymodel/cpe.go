package citymodel

import "bulwark/internal/cpe"

// checkCPE reports why s is not a well-formed CPE 2.3 formatted string
// naming a concrete product, or "" if it is. The check is cpe.Validate,
// shared with the matcher so the import never accepts a name the matcher
// cannot parse; the JSON schema's pattern mirrors it.
func checkCPE(s string) string {
	if err := cpe.Validate(s); err != nil {
		return err.Error()
	}
	return ""
}

func isAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }
