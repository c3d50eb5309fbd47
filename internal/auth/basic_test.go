package auth

import (
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"bulwark"
)

func basicReq(user, pw, remote string) *http.Request {
	r := httptest.NewRequest("GET", "/taxii2/", nil)
	r.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(user+":"+pw)))
	r.RemoteAddr = remote
	return r
}

func TestBasicAuth(t *testing.T) {
	f := newFixture(t, Options{})
	p, ok := f.svc.Authenticate(basicReq("ana@city.example", "pw-ana@city.example", "192.0.2.1:1"))
	if !ok || p.Org != "city" || p.Role != bulwark.RoleAdmin || p.UserID != f.users["ana@city.example"].ID {
		t.Fatalf("good credentials: %+v %v", p, ok)
	}
	// Case of the e-mail does not matter; the password's does.
	if _, ok := f.svc.Authenticate(basicReq("ANA@city.example", "pw-ana@city.example", "192.0.2.1:1")); !ok {
		t.Error("e-mail case refused")
	}
	for _, tc := range []struct{ name, hdr string }{
		{"wrong password", "Basic " + base64.StdEncoding.EncodeToString([]byte("ana@city.example:PW-ana@city.example"))},
		{"unknown user", "Basic " + base64.StdEncoding.EncodeToString([]byte("zed@city.example:pw"))},
		{"no colon", "Basic " + base64.StdEncoding.EncodeToString([]byte("ana@city.example"))},
		{"empty password", "Basic " + base64.StdEncoding.EncodeToString([]byte("ana@city.example:"))},
		{"not base64", "Basic ana@city.example:pw-ana@city.example"},
		{"empty", "Basic "},
		{"invalid utf-8", "Basic " + base64.StdEncoding.EncodeToString([]byte("ana@city.example:\xff"))},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Authorization", tc.hdr)
		r.RemoteAddr = "192.0.2.9:1"
		if p, ok := f.svc.Authenticate(r); ok {
			t.Errorf("%s accepted as %+v", tc.name, p)
		}
	}
}

// AU02: a cached verification never outlives a disabled account or a
// changed password.
func TestAU02_BasicAuthRevocation(t *testing.T) {
	f := newFixture(t, Options{})
	cy := f.users["cy@port.example"]
	good := func() bool {
		_, ok := f.svc.Authenticate(basicReq("cy@port.example", "pw-cy@port.example", "192.0.2.3:1"))
		return ok
	}
	if !good() || !good() {
		t.Fatal("good credentials refused")
	}
	if err := f.st.SetUserDisabled(sysCtx(), cy.ID, true); err != nil {
		t.Fatal(err)
	}
	if good() {
		t.Error("disabled user accepted from the cache")
	}
	if err := f.st.SetUserDisabled(sysCtx(), cy.ID, false); err != nil {
		t.Fatal(err)
	}
	hash, err := HashPasswordParams("new password", cheap)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.st.SetUserPassword(sysCtx(), cy.ID, hash); err != nil {
		t.Fatal(err)
	}
	if good() {
		t.Error("old password accepted after a change")
	}
	if _, ok := f.svc.Authenticate(basicReq("cy@port.example", "new password", "192.0.2.3:1")); !ok {
		t.Error("new password refused")
	}
	// The cache expires.
	f.clock.Add(basicCacheTTL + time.Second)
	if _, ok := f.svc.Authenticate(basicReq("cy@port.example", "new password", "192.0.2.3:1")); !ok {
		t.Error("refused after the cache expired")
	}
}

// AU01: guessing passwords over Basic is throttled like logins, per
// account: beyond the limit even the right password is refused.
func TestAU01_BasicAuthThrottled(t *testing.T) {
	f := newFixture(t, Options{LoginLimit: 5})
	for i := range 5 {
		if _, ok := f.svc.Authenticate(basicReq("bo@city.example", "guess", "192.0.2."+string(rune('1'+i))+":1")); ok {
			t.Fatal("guess accepted")
		}
	}
	if _, ok := f.svc.Authenticate(basicReq("bo@city.example", "pw-bo@city.example", "192.0.2.77:1")); ok {
		t.Error("right password accepted beyond the failure limit")
	}
	f.clock.Add(16 * time.Minute)
	if _, ok := f.svc.Authenticate(basicReq("bo@city.example", "pw-bo@city.example", "192.0.2.77:1")); !ok {
		t.Error("refused after the window")
	}
}
