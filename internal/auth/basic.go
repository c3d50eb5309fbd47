package auth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"bulwark"
)

// HTTP Basic authentication (RFC 7617) with a user's e-mail and password, as
// TAXII 2.1 clients use it (its section 8.2.2 asks servers to support it).
// Clients send the password with every request and argon2id is slow on
// purpose, so a successful verification is remembered for a while — keyed
// by an HMAC of e-mail and password under a per-process key, and tied to
// the password hash it was checked against. The user is still read from
// the store on every request: disabling a user or changing the password
// takes effect on the next request, as for tokens.

// basicCacheTTL bounds how long one verification is reused.
const basicCacheTTL = 10 * time.Minute

type basicCache struct {
	mu     sync.Mutex
	key    [32]byte
	m      map[[32]byte]basicHit
	flight map[basicFlightKey]*basicFlight // verifications under way
}

// basicFlightKey names one verification: a credential against one
// password hash. Requests with the same credential that arrive while it
// runs (a cache entry expiring under load) wait for its answer instead of
// each running argon2id.
type basicFlightKey struct {
	id   [32]byte
	hash string
}

type basicFlight struct {
	done chan struct{}
	good bool
}

// verifyPassword is VerifyPassword; tests count its calls.
var verifyPassword = VerifyPassword

type basicHit struct {
	hash    string // the user's password hash when it was verified
	expires time.Time
}

func newBasicCache() *basicCache {
	c := &basicCache{m: map[[32]byte]basicHit{}, flight: map[basicFlightKey]*basicFlight{}}
	rand.Read(c.key[:])
	return c
}

func (c *basicCache) id(email, password string) [32]byte {
	m := hmac.New(sha256.New, c.key[:])
	m.Write([]byte(email))
	m.Write([]byte{0})
	m.Write([]byte(password))
	var out [32]byte
	copy(out[:], m.Sum(nil))
	return out
}

// verify reports whether password matches hash, from the cache or by
// verifying it once for all the requests that ask at the same time.
func (c *basicCache) verify(id [32]byte, hash, password string, now time.Time) bool {
	c.mu.Lock()
	if h, hit := c.m[id]; hit && h.hash == hash && now.Before(h.expires) {
		c.mu.Unlock()
		return true
	}
	fk := basicFlightKey{id, hash}
	if f := c.flight[fk]; f != nil {
		c.mu.Unlock()
		<-f.done
		return f.good
	}
	f := &basicFlight{done: make(chan struct{})}
	c.flight[fk] = f
	c.mu.Unlock()

	f.good = verifyPassword(hash, password)
	c.mu.Lock()
	delete(c.flight, fk)
	if f.good {
		if len(c.m) > 10_000 {
			clear(c.m)
		}
		c.m[id] = basicHit{hash: hash, expires: now.Add(basicCacheTTL)}
	}
	c.mu.Unlock()
	close(f.done)
	return f.good
}

// parseBasic decodes "user:password" from a Basic credential. The
// challenge asks for UTF-8 (RFC 7617 section 2.1), but clients that ignore
// it send ISO-8859-1: python requests, under the OASIS taxii2-client, does
// for every str password. Bytes that are not UTF-8 are therefore read as
// ISO-8859-1, where every byte is the code point of the same value. A UTF-8
// credential is never read otherwise, and an ISO-8859-1 one can only stand
// for the one password it spells, so no second password opens an account.
func parseBasic(cred string) (email, password string, ok bool) {
	if len(cred) == 0 || len(cred) > 2048 {
		return "", "", false
	}
	b, err := base64.StdEncoding.DecodeString(cred)
	if err != nil {
		return "", "", false
	}
	s := string(b)
	if !utf8.Valid(b) {
		s = latin1(b)
	}
	email, password, ok = strings.Cut(s, ":")
	if !ok || email == "" || password == "" || len(email) > 254 || len(password) > 1024 {
		return "", "", false
	}
	return bulwark.NormalizeEmail(email), password, true
}

// latin1 decodes ISO-8859-1.
func latin1(b []byte) string {
	r := make([]rune, len(b))
	for i, c := range b {
		r[i] = rune(c)
	}
	return string(r)
}

// authenticateBasic checks a Basic credential. Failures count against the
// account and the address like failed logins, and beyond the limit the
// password is not even checked.
func (s *Service) authenticateBasic(ctx context.Context, cred, remoteAddr string, now time.Time) authInfo {
	in := authInfo{bearer: true}
	email, password, ok := parseBasic(cred)
	if !ok {
		return in
	}
	acct, addr := "acct:"+email, "addr:"+hostOf(remoteAddr)
	for _, k := range []string{acct, addr} {
		if b, _ := s.logins.blocked(k, now); b {
			return in
		}
	}
	u, err := s.st.FindUserByEmail(ctx, email)
	if err != nil && bulwark.ErrorCode(err) != bulwark.ENOTFOUND {
		s.log.Error("basic auth lookup", "err", err)
		return in
	}
	c := s.basic
	key := c.id(email, password)
	good := false
	if u != nil && !u.Disabled {
		good = c.verify(key, u.PasswordHash, password, now)
	} else {
		verifyPassword(s.dummy, password) // same work as for a known user
	}
	if !good {
		s.logins.fail(acct, now)
		s.logins.fail(addr, now)
		s.audit(ctx, u, bulwark.AuditEntry{Actor: printable(email), Action: "login.fail", Target: hostOf(remoteAddr), Outcome: "denied", Detail: "basic"})
		return in
	}
	in.p = bulwark.Principal{UserID: u.ID, Org: u.Org, Role: u.Role, Name: u.Email}
	in.ok = true
	return in
}
