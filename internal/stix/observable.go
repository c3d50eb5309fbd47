package stix

import (
	"slices"
	"strings"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/google/uuid"

	"bulwark"
)

// idContributing lists, per cyber-observable type, the properties its
// deterministic identifier is computed from (STIX 2.1, section 6). A process
// has none: its ids are random.
var idContributing = map[string][]string{
	"artifact":             {"hashes", "payload_bin"},
	"autonomous-system":    {"number"},
	"directory":            {"path"},
	"domain-name":          {"value"},
	"email-addr":           {"value"},
	"email-message":        {"from_ref", "subject", "body"},
	"file":                 {"hashes", "name", "extensions", "parent_directory_ref"},
	"ipv4-addr":            {"value"},
	"ipv6-addr":            {"value"},
	"mac-addr":             {"value"},
	"mutex":                {"name"},
	"network-traffic":      {"start", "end", "src_ref", "dst_ref", "src_port", "dst_port", "protocols", "extensions"},
	"software":             {"name", "cpe", "swid", "vendor", "version"},
	"url":                  {"value"},
	"user-account":         {"account_type", "user_id", "account_login"},
	"windows-registry-key": {"key", "values"},
	"x509-certificate":     {"hashes", "serial_number"},
}

// hashPreference is the order in which one hash of a hashes dictionary is
// chosen to contribute to an identifier; when none of these is present the
// name that sorts first is used.
var hashPreference = []string{"MD5", "SHA-1", "SHA-256", "SHA-512"}

// ObservableID returns the deterministic identifier of a cyber-observable as
// STIX 2.1 defines it (section 2.9): type + "--" + a UUIDv5 in STIXNamespace
// over the canonical JSON (RFC 8785) of the object's ID-contributing
// properties, with a hashes dictionary reduced to one hash. obj is the
// observable's JSON (its id, if any, is ignored). It fails for types without
// contributing properties (process, custom types) and for objects that hold
// none of them: those get random ids (NewID).
func ObservableID(obj []byte) (string, error) {
	var m map[string]jsontext.Value
	if err := json.Unmarshal(obj, &m); err != nil {
		return "", bulwark.Errorf(bulwark.EINVALID, "observable: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
	var typ string
	if err := json.Unmarshal(m["type"], &typ); err != nil || typ == "" {
		return "", bulwark.Errorf(bulwark.EINVALID, "observable: missing type")
	}
	props, ok := idContributing[typ]
	if !ok {
		return "", bulwark.Errorf(bulwark.EUNSUPPORTED, "observable type %q has no deterministic identifier", typ)
	}
	contrib := map[string]jsontext.Value{}
	for _, p := range props {
		v, ok := m[p]
		if !ok {
			continue
		}
		if p == "hashes" {
			one, err := oneHash(v)
			if err != nil {
				return "", err
			}
			v = one
		}
		contrib[p] = v
	}
	if len(contrib) == 0 {
		return "", bulwark.Errorf(bulwark.EINVALID, "%s has none of its ID-contributing properties (%s)", typ, strings.Join(props, ", "))
	}
	data, err := json.Marshal(contrib)
	if err != nil {
		return "", err
	}
	canon, err := Canonical(data)
	if err != nil {
		return "", err
	}
	return typ + "--" + uuid.NewSHA1(STIXNamespace, canon).String(), nil
}

func oneHash(v jsontext.Value) (jsontext.Value, error) {
	var h map[string]jsontext.Value
	if err := json.Unmarshal(v, &h); err != nil || len(h) == 0 {
		return nil, bulwark.Errorf(bulwark.EINVALID, "observable: hashes is not a non-empty dictionary")
	}
	pick := ""
	for _, name := range hashPreference {
		if _, ok := h[name]; ok {
			pick = name
			break
		}
	}
	if pick == "" {
		names := make([]string, 0, len(h))
		for n := range h {
			names = append(names, n)
		}
		slices.Sort(names)
		pick = names[0]
	}
	return json.Marshal(map[string]jsontext.Value{pick: h[pick]})
}
