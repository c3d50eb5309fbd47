package auth

import (
	"encoding/base64"
	"net/http/httptest"
	"testing"

	"bulwark"
)

// A password outside ASCII works over HTTP Basic whether the client sends
// it in UTF-8 (as the challenge asks) or in ISO-8859-1 (as python requests,
// under the OASIS taxii2-client, does); a wrong password in either stays
// wrong, and bytes that are neither cannot stand for the password.
func TestBasicAuthPasswordCharset(t *testing.T) {
	f := newFixture(t, Options{})
	const pw = "Grüße aus Köln"
	hash, err := HashPasswordParams(pw, cheap)
	if err != nil {
		t.Fatal(err)
	}
	u := &bulwark.User{Org: "city", Email: "dora@city.example", Name: "Dora", Role: bulwark.RoleAnalyst, PasswordHash: hash}
	if err := f.st.CreateUser(sysCtx(), u); err != nil {
		t.Fatal(err)
	}
	iso := func(s string) []byte { // ISO-8859-1 of a string within it
		var b []byte
		for _, r := range s {
			if r > 0xff {
				t.Fatalf("%q is not ISO-8859-1", s)
			}
			b = append(b, byte(r))
		}
		return b
	}
	mojibake := func(s string) string { // s's UTF-8 bytes taken as ISO-8859-1
		var out []rune
		for _, c := range []byte(s) {
			out = append(out, rune(c))
		}
		return string(out)
	}
	for _, tc := range []struct {
		name string
		cred []byte
		ok   bool
	}{
		{"UTF-8", []byte("dora@city.example:" + pw), true},
		{"ISO-8859-1", append([]byte("dora@city.example:"), iso(pw)...), true},
		{"ISO-8859-1, wrong password", append([]byte("dora@city.example:"), iso("Grüsse aus Köln")...), false},
		{"UTF-8 bytes read as ISO-8859-1 are another password", []byte("dora@city.example:" + mojibake(pw)), false},
		{"lone continuation byte", []byte("dora@city.example:Gr\x9fe aus K\xf6ln"), false},
		{"ISO-8859-1 e-mail of another user", append(iso("dörä@city.example:"), iso(pw)...), false},
	} {
		r := httptest.NewRequest("GET", "/taxii2/", nil)
		r.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString(tc.cred))
		r.RemoteAddr = "192.0.2.44:1"
		p, ok := f.svc.Authenticate(r)
		if ok != tc.ok || (ok && p.UserID != u.ID) {
			t.Errorf("%s: authenticated %v as %+v, want %v", tc.name, ok, p, tc.ok)
		}
	}
}
