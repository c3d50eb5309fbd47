// Package sharing is Bulwark's intel-sharing service: communities of
// organizations, their TAXII collections, and the STIX objects published to
// them under TLP 2.0. It is the one place that decides who sees an intel
// object: CanSee holds the TLP rule, and every path that hands out objects,
// their ids or their existence (listings, counts, manifests, versions,
// TAXII, exports) goes through Service, which applies CanSee before
// anything leaves. The intel store persists and does not filter; nothing
// but this package calls it (a test checks).
package sharing

import (
	"errors"
	"slices"

	"bulwark"
)

// CanSee is the TLP rule: whether p may see an object of scope s in a
// collection that p's organization may (canRead) or may not read.
//
//   - Nobody outside the collection's readers sees anything in it.
//   - TLP:CLEAR and TLP:GREEN reach every reader of the collection (the
//     community, as far as the collection's owners opened it).
//   - TLP:AMBER reaches the recipient organizations and the publisher's.
//   - TLP:AMBER+STRICT reaches its one recipient organization and the
//     publisher's.
//   - TLP:RED reaches the named individuals and the publishing user.
//   - The System principal (the local operator's CLI) gets CLEAR, GREEN
//     and AMBER but never AMBER+STRICT or RED: no god-mode read.
//   - Anything else (an unknown marking) reaches nobody.
func CanSee(p bulwark.Principal, s *bulwark.IntelScope, canRead bool) bool {
	if p.System {
		switch s.Marking {
		case bulwark.TLPClear, bulwark.TLPGreen, bulwark.TLPAmber:
			return true
		}
		return false
	}
	if !canRead || p.Org == "" {
		return false
	}
	switch s.Marking {
	case bulwark.TLPClear, bulwark.TLPGreen:
		return true
	case bulwark.TLPAmber:
		return p.Org == s.PublisherOrg || slices.Contains(s.Orgs, p.Org)
	case bulwark.TLPAmberStrict:
		return p.Org == s.PublisherOrg || (len(s.Orgs) == 1 && s.Orgs[0] == p.Org)
	case bulwark.TLPRed:
		return p.UserID != 0 && ((p.UserID == s.PublisherUser && p.Org == s.PublisherOrg) || slices.Contains(s.Users, p.UserID))
	}
	return false
}

// narrower reports whether everyone who may see an object of scope next
// could already see it under scope prev (collection access aside): the
// condition for re-scoping an object's earlier versions. orgOf returns the
// organization of a user ("" when unknown).
func narrower(prev, next bulwark.IntelScope, orgOf func(int64) string) bool {
	if next.Marking.Rank() < prev.Marking.Rank() {
		return false
	}
	switch prev.Marking {
	case bulwark.TLPClear, bulwark.TLPGreen:
		return true
	case bulwark.TLPAmber, bulwark.TLPAmberStrict:
		in := func(org string) bool {
			return org != "" && (org == prev.PublisherOrg || slices.Contains(prev.Orgs, org))
		}
		switch next.Marking {
		case bulwark.TLPAmber, bulwark.TLPAmberStrict:
			if !in(next.PublisherOrg) {
				return false
			}
			for _, o := range next.Orgs {
				if !in(o) {
					return false
				}
			}
			return true
		case bulwark.TLPRed:
			if !in(next.PublisherOrg) {
				return false
			}
			for _, u := range next.Users {
				if !in(orgOf(u)) {
					return false
				}
			}
			return true
		}
	case bulwark.TLPRed:
		if next.Marking != bulwark.TLPRed {
			return false
		}
		in := func(u int64) bool { return u != 0 && (u == prev.PublisherUser || slices.Contains(prev.Users, u)) }
		if next.PublisherUser != 0 && !in(next.PublisherUser) {
			return false
		}
		for _, u := range next.Users {
			if !in(u) {
				return false
			}
		}
		return true
	}
	return false
}

// ErrMarkingLowered is in the chain of the error that refuses a version
// marked less strictly than the object's earlier versions (AC-02): test
// for it with errors.Is. The error is also a *bulwark.Error (ECONFLICT)
// whose message names the object and both markings.
var ErrMarkingLowered = errors.New("a version may not lower the object's marking")

// markingLowered carries both the caller-safe *bulwark.Error and the
// sentinel, so that errors.As finds the one and errors.Is the other while
// the message stays the *bulwark.Error's.
type markingLowered struct{ e *bulwark.Error }

func (m *markingLowered) Error() string   { return m.e.Error() }
func (m *markingLowered) Unwrap() []error { return []error{m.e, ErrMarkingLowered} }

func loweredError(e *bulwark.Error) error { return &markingLowered{e} }
