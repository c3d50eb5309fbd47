package bulwark

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// TLP is a Traffic Light Protocol 2.0 level: how far an intel object may
// travel. The values are ordered from least to most restrictive (Rank).
type TLP string

// TLP 2.0 levels.
const (
	TLPClear       TLP = "clear"        // the community of the collection (TLP:CLEAR is unlimited; Bulwark still keeps it in the collection)
	TLPGreen       TLP = "green"        // the community of the collection
	TLPAmber       TLP = "amber"        // the named recipient organizations (and the publisher's)
	TLPAmberStrict TLP = "amber+strict" // one recipient organization (and the publisher's)
	TLPRed         TLP = "red"          // named individuals (and the publishing user) only
)

// TLPs lists the levels from least to most restrictive.
var TLPs = []TLP{TLPClear, TLPGreen, TLPAmber, TLPAmberStrict, TLPRed}

// Rank is 1 (CLEAR) to 5 (RED), and 0 for anything that is not a level.
func (t TLP) Rank() int {
	if i := slices.Index(TLPs, t); i >= 0 {
		return i + 1
	}
	return 0
}

// Valid reports whether t is one of the five levels.
func (t TLP) Valid() bool { return t.Rank() > 0 }

// Label is the TLP label, e.g. "TLP:AMBER+STRICT".
func (t TLP) Label() string { return "TLP:" + strings.ToUpper(string(t)) }

// ParseTLP reads "amber+strict", "TLP:AMBER+STRICT" and the like
// (case-insensitive; TLP 1.0 "white" is CLEAR).
func ParseTLP(s string) (TLP, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	s = strings.TrimPrefix(s, "tlp:")
	if s == "white" {
		return TLPClear, true
	}
	t := TLP(s)
	return t, t.Valid()
}

// DefaultTLP is the marking of what is published or imported without a
// TLP marking of its own: AMBER+STRICT to the publisher's organization, so
// that nothing leaves an organization unless someone chose to share it.
const DefaultTLP = TLPAmberStrict

// Community is a sharing group of organizations. Its collections hold the
// intel its members exchange; an organization outside it never learns what
// the collections hold, nor who the members are.
type Community struct {
	ID          string            `json:"id"`
	Name        string            `json:"name"`
	Description string            `json:"description,omitempty"`
	Members     []CommunityMember `json:"members"`
	CreatedBy   string            `json:"created_by,omitempty"` // organization that created it
	CreatedAt   time.Time         `json:"created_at,omitzero"`
}

// CommunityMember is one organization of a community. Administrators of an
// owner organization manage the community: its members and collections.
type CommunityMember struct {
	Org   string `json:"org"`
	Owner bool   `json:"owner,omitempty"`
}

// IsMember reports whether org belongs to c.
func (c *Community) IsMember(org string) bool {
	return slices.ContainsFunc(c.Members, func(m CommunityMember) bool { return m.Org == org })
}

// IsOwner reports whether org owns c.
func (c *Community) IsOwner(org string) bool {
	return slices.ContainsFunc(c.Members, func(m CommunityMember) bool { return m.Org == org && m.Owner })
}

// Collection is a TAXII collection: a repository of intel objects belonging
// to one community. Access says which member organizations may read it and
// which may add to it; an organization not listed (or no longer a member of
// the community) may do neither.
type Collection struct {
	ID          string             `json:"id"` // a UUID (TAXII identifier)
	Community   string             `json:"community"`
	Title       string             `json:"title"`
	Description string             `json:"description,omitempty"`
	Alias       string             `json:"alias,omitempty"`
	Access      []CollectionAccess `json:"access"`
	CreatedAt   time.Time          `json:"created_at,omitzero"`
}

// CollectionAccess is what one member organization may do in a collection.
type CollectionAccess struct {
	Org      string `json:"org"`
	CanRead  bool   `json:"can_read"`
	CanWrite bool   `json:"can_write"`
}

// AccessOf returns the access org has to c (zero when not listed).
func (c *Collection) AccessOf(org string) CollectionAccess {
	for _, a := range c.Access {
		if a.Org == org {
			return a
		}
	}
	return CollectionAccess{Org: org}
}

// IntelScope is everything that decides who may see an intel object: its
// TLP marking, its audience and who published it. All versions of one
// object (one STIX id from one publisher in one collection) share a scope.
// internal/sharing holds the one rule that reads it.
type IntelScope struct {
	Marking TLP `json:"marking"`
	// Orgs are the recipient organizations of an AMBER object (any number)
	// or an AMBER+STRICT one (exactly one); empty otherwise.
	Orgs []string `json:"orgs,omitempty"`
	// Users are the named individuals (user IDs) of a RED object.
	Users []int64 `json:"users,omitempty"`
	// PublisherOrg and PublisherUser published the object; they always see
	// it while they may read the collection.
	PublisherOrg  string `json:"publisher_org"`
	PublisherUser int64  `json:"publisher_user,omitempty"`
}

// Normalize sorts and de-duplicates the audience lists.
func (s *IntelScope) Normalize() {
	slices.Sort(s.Orgs)
	s.Orgs = slices.Compact(s.Orgs)
	slices.Sort(s.Users)
	s.Users = slices.Compact(s.Users)
	if len(s.Orgs) == 0 {
		s.Orgs = nil
	}
	if len(s.Users) == 0 {
		s.Users = nil
	}
}

// Equal reports whether two normalized scopes are the same.
func (s IntelScope) Equal(o IntelScope) bool {
	return s.Marking == o.Marking && s.PublisherOrg == o.PublisherOrg && s.PublisherUser == o.PublisherUser &&
		slices.Equal(s.Orgs, o.Orgs) && slices.Equal(s.Users, o.Users)
}

// Validate checks that the audience fits the marking.
func (s IntelScope) Validate() error {
	switch s.Marking {
	case TLPClear, TLPGreen:
		if len(s.Orgs) > 0 || len(s.Users) > 0 {
			return Errorf(EINVALID, "%s reaches the whole community: name no recipients", s.Marking.Label())
		}
	case TLPAmber:
		if len(s.Users) > 0 {
			return Errorf(EINVALID, "TLP:AMBER names recipient organizations, not individuals")
		}
	case TLPAmberStrict:
		if len(s.Orgs) != 1 || len(s.Users) > 0 {
			return Errorf(EINVALID, "TLP:AMBER+STRICT names exactly one recipient organization")
		}
	case TLPRed:
		if len(s.Orgs) > 0 {
			return Errorf(EINVALID, "TLP:RED names individuals (users), not organizations")
		}
	default:
		return Errorf(EINVALID, "marking %q: use clear, green, amber, amber+strict or red", Abbrev(string(s.Marking), 40))
	}
	if s.PublisherOrg == "" {
		return Errorf(EINVALID, "an intel object needs a publishing organization")
	}
	if len(s.Orgs) > MaxIntelRecipients || len(s.Users) > MaxIntelRecipients {
		return Errorf(EINVALID, "at most %d recipients", MaxIntelRecipients)
	}
	for _, o := range s.Orgs {
		if !ValidID(o) {
			return Errorf(EINVALID, "recipient %q is not an organization ID", Abbrev(o, 60))
		}
	}
	return nil
}

// MaxIntelRecipients caps the audience of one object.
const MaxIntelRecipients = 1000

// IntelObject is one version of a STIX object in a collection, with the
// scope that decides who may see it and where it came from.
type IntelObject struct {
	// Seq orders every version the store holds; it is assigned at insertion,
	// strictly increasing in commit order, and breaks ties of DateAdded.
	Seq         int64     `json:"seq"`
	Collection  string    `json:"collection"`
	STIXID      string    `json:"id"`
	Type        string    `json:"type"`
	SpecVersion string    `json:"spec_version"`
	Version     time.Time `json:"version"` // modified, else created, else DateAdded
	// DateAdded is when this version entered the collection (microseconds;
	// non-decreasing in Seq).
	DateAdded time.Time `json:"date_added"`
	Revoked   bool      `json:"revoked,omitempty"`
	IntelScope
	// Source is the provenance: "publish", "taxii", "import:<name>" or
	// "feed:<name>".
	Source string `json:"source"`
	// Body is the STIX object as received, byte for byte.
	Body []byte `json:"-"`
}

// IntelState tells readers of the intel store what changed: LastSeq grows
// with every object added; Epoch changes when stored objects are removed;
// AccessEpoch when communities, members or collection access change.
// In-memory indexes compare them to stay current across processes. (A
// stricter marking re-scopes earlier versions only together with a new
// version, whose row carries the new scope: tailing LastSeq sees it.)
type IntelState struct {
	LastSeq     int64
	LastAdded   time.Time
	Epoch       int64
	AccessEpoch int64
}

// IntelPut is the outcome of adding one object.
type IntelPut struct {
	Seq       int64     // 0 when not stored
	DateAdded time.Time // when stored
	Duplicate bool      // an identical version was already stored
	Err       error     // why it was refused (nil when stored or duplicate)
}

// IntelCheck decides, inside the transaction that adds obj, whether obj may
// join what is stored: own is the scope of the versions its publisher
// already stored (nil for a new object) and others the scopes of the same
// STIX id published by other organizations in the collection. It returns
// the scope to store (a stricter marking re-scopes the earlier versions
// too) or an error that refuses obj alone.
type IntelCheck func(obj *IntelObject, own *IntelScope, others []IntelScope) (IntelScope, error)

// IntelStatus is a TAXII status resource: the outcome of one POST.
type IntelStatus struct {
	ID         string              `json:"id"`
	Collection string              `json:"-"`
	Org        string              `json:"-"`
	UserID     int64               `json:"-"`
	Status     string              `json:"status"`
	Requested  time.Time           `json:"request_timestamp"`
	Total      int                 `json:"total_count"`
	Successes  []IntelStatusDetail `json:"successes,omitempty"`
	Failures   []IntelStatusDetail `json:"failures,omitempty"`
	Pendings   []IntelStatusDetail `json:"pendings,omitempty"`
}

// IntelStatusDetail is one object of a status resource.
type IntelStatusDetail struct {
	ID      string `json:"id"`
	Version string `json:"version"`
	Message string `json:"message,omitempty"`
}

// IntelStore persists communities, collections, intel objects and TAXII
// status resources. It decides nothing about visibility: internal/sharing
// is the one place that does, and the only caller of these methods (a test
// there checks it). Every method needs a Principal, which changes are
// audited under; reads of objects are meant for the System principal
// inside the sharing service.
type IntelStore interface {
	CreateCommunity(ctx context.Context, c *Community) error
	// UpdateCommunity replaces a community's name, description and members;
	// access of organizations that are no longer members is removed.
	UpdateCommunity(ctx context.Context, c *Community) error
	ListCommunities(ctx context.Context) ([]Community, error)
	CreateCollection(ctx context.Context, c *Collection) error
	// UpdateCollection replaces title, description, alias and access.
	UpdateCollection(ctx context.Context, c *Collection) error
	ListCollections(ctx context.Context) ([]Collection, error)

	// PutIntelObjects adds objects (all to one collection) in one
	// transaction, assigning Seq and DateAdded; check runs for each object
	// inside it. The result has one entry per object.
	PutIntelObjects(ctx context.Context, collection string, objs []IntelObject, check IntelCheck) ([]IntelPut, error)
	// DeleteIntelVersions removes the given versions (Seqs) of objects of
	// one collection.
	DeleteIntelVersions(ctx context.Context, collection string, seqs []int64) error
	IntelState(ctx context.Context) (IntelState, error)
	// ScanIntelObjects returns up to limit objects with Seq > after in Seq
	// order, without bodies.
	ScanIntelObjects(ctx context.Context, after int64, limit int) ([]IntelObject, error)
	// IntelBodies returns the bodies of the given Seqs, in the same order
	// (nil for one that no longer exists).
	IntelBodies(ctx context.Context, seqs []int64) ([][]byte, error)
	// IntelSecret returns a random key, created once per database, that
	// authenticates paging cursors across server instances.
	IntelSecret(ctx context.Context) ([]byte, error)

	PutIntelStatus(ctx context.Context, s *IntelStatus) error
	// FindIntelStatus returns the status id of the caller's own user; any
	// other is ENOTFOUND.
	FindIntelStatus(ctx context.Context, id string) (*IntelStatus, error)
}

// ValidateCommunity checks a community's fields.
func (c *Community) Validate() error {
	if !ValidID(c.ID) {
		return Errorf(EINVALID, "community id %q: use 1-128 letters, digits, '.', '_', ':' or '-'", Abbrev(c.ID, 60))
	}
	if c.Name == "" || len(c.Name) > 200 {
		return Errorf(EINVALID, "a community needs a name of 1 to 200 bytes")
	}
	if len(c.Description) > 10_000 {
		return Errorf(EINVALID, "community description is limited to 10,000 bytes")
	}
	if len(c.Members) == 0 || len(c.Members) > 10_000 {
		return Errorf(EINVALID, "a community has 1 to 10,000 members")
	}
	seen := map[string]bool{}
	owners := 0
	for _, m := range c.Members {
		if !ValidID(m.Org) {
			return Errorf(EINVALID, "member %q is not an organization ID", Abbrev(m.Org, 60))
		}
		if seen[m.Org] {
			return Errorf(EINVALID, "member %s is listed twice", m.Org)
		}
		seen[m.Org] = true
		if m.Owner {
			owners++
		}
	}
	if owners == 0 {
		return Errorf(EINVALID, "a community needs at least one owner organization")
	}
	return nil
}

// Validate checks a collection's fields against its community.
func (c *Collection) Validate(com *Community) error {
	if !ValidUUID(c.ID) {
		return Errorf(EINVALID, "collection id %q is not a UUID", Abbrev(c.ID, 60))
	}
	if c.Title == "" || len(c.Title) > 200 {
		return Errorf(EINVALID, "a collection needs a title of 1 to 200 bytes")
	}
	if len(c.Description) > 10_000 {
		return Errorf(EINVALID, "collection description is limited to 10,000 bytes")
	}
	if c.Alias != "" && (!ValidID(c.Alias) || ValidUUID(c.Alias)) {
		return Errorf(EINVALID, "alias %q: use 1-128 letters, digits, '.', '_', ':' or '-', not a UUID", Abbrev(c.Alias, 60))
	}
	seen := map[string]bool{}
	for _, a := range c.Access {
		if seen[a.Org] {
			return Errorf(EINVALID, "access for %s is listed twice", Abbrev(a.Org, 60))
		}
		seen[a.Org] = true
		if com != nil && !com.IsMember(a.Org) {
			return Errorf(EINVALID, "%s is not a member of community %s", Abbrev(a.Org, 60), com.ID)
		}
	}
	return nil
}

// ValidUUID reports whether s is an RFC 4122 UUID in its canonical,
// lower-case text form.
func ValidUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < 36; i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
				return false
			}
		}
	}
	return true
}

// FormatTAXIITime formats t as a TAXII timestamp: UTC, microseconds, "Z".
func FormatTAXIITime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000Z") }

// FormatSTIXTime formats a version as a STIX timestamp: milliseconds, or
// microseconds when the time has them.
func FormatSTIXTime(t time.Time) string {
	t = t.UTC()
	if t.Nanosecond()%1_000_000 == 0 {
		return t.Format("2006-01-02T15:04:05.000Z")
	}
	return t.Truncate(time.Microsecond).Format("2006-01-02T15:04:05.000000Z")
}

// String names an intel object for messages and the audit log.
func (o *IntelObject) String() string {
	return fmt.Sprintf("%s@%s", o.STIXID, FormatSTIXTime(o.Version))
}
