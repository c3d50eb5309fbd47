package stix

import (
	"strings"

	"github.com/google/uuid"
)

// STIXNamespace is the UUIDv5 namespace STIX 2.1 (section 2.9) defines for the
// deterministic identifiers of cyber-observable objects.
var STIXNamespace = uuid.MustParse("00abedb4-aa42-466c-9c01-fed23315a9b7")

// BulwarkNamespace is the UUIDv5 namespace of the domain objects Bulwark
// produces from its own records (vulnerabilities, advisories, organizations,
// systems, findings...). It is a constant of the project, chosen once at
// random: changing it would change every identifier Bulwark has published.
// See DeterministicID for what goes into the name.
var BulwarkNamespace = uuid.MustParse("57ffe17d-e51c-4e41-8376-92047685c387")

// DeterministicID returns typ + "--" + a UUIDv5 in BulwarkNamespace over typ
// and the parts, joined by NUL bytes (so that ("a-b","c") and ("a","b-c")
// differ). Publishing the same record again yields the same id, so a
// consumer sees a new version (a later modified) of the same object rather
// than a duplicate. Callers put the publishing identity's id first among the
// parts: two organizations describing the same CVE produce two objects, as
// STIX requires (only an object's creator may version it).
func DeterministicID(typ string, parts ...string) string {
	var b strings.Builder
	b.WriteString(typ)
	for _, p := range parts {
		b.WriteByte(0)
		b.WriteString(p)
	}
	return typ + "--" + uuid.NewSHA1(BulwarkNamespace, []byte(b.String())).String()
}

// NewID returns typ + "--" + a random UUIDv4, for objects that have no natural
// key (the spec's SHOULD for domain objects).
func NewID(typ string) string { return typ + "--" + uuid.NewString() }

// ParseID splits a STIX identifier "type--UUID" and checks it: the type part
// is a valid STIX type name and the UUID part is an RFC 4122 UUID (variant
// 10, version 1 to 5, lower- or upper-case hex as the OASIS schema allows).
// It returns the type and the UUID's version.
func ParseID(id string) (typ string, version int, ok bool) {
	i := strings.Index(id, "--")
	if i < 0 {
		return "", 0, false
	}
	typ, u := id[:i], id[i+2:]
	if !validTypeName(typ) || len(u) != 36 {
		return "", 0, false
	}
	for j := 0; j < 36; j++ {
		c := u[j]
		switch j {
		case 8, 13, 18, 23:
			if c != '-' {
				return "", 0, false
			}
		default:
			if !isHex(c) {
				return "", 0, false
			}
		}
	}
	v := int(u[14] - '0')
	if v < 1 || v > 5 {
		return "", 0, false
	}
	switch u[19] {
	case '8', '9', 'a', 'b', 'A', 'B':
	default:
		return "", 0, false
	}
	return typ, v, true
}

// IDType returns the type part of a STIX identifier ("indicator" for
// "indicator--…"), or "" when id has no "--".
func IDType(id string) string {
	if i := strings.Index(id, "--"); i > 0 {
		return id[:i]
	}
	return ""
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// validTypeName checks a STIX type name (section 2.1 of the spec, and the
// OASIS core schema): 3 to 250 characters of a-z, 0-9 and hyphen, starting
// with a letter, no empty hyphen-separated part except a trailing one.
func validTypeName(t string) bool {
	if len(t) < 3 || len(t) > 250 || t[0] < 'a' || t[0] > 'z' {
		return false
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		case c == '-':
			if i+1 < len(t) && t[i+1] == '-' {
				return false
			}
		default:
			return false
		}
	}
	return true
}
