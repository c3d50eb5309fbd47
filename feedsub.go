package bulwark

import (
	"context"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// IntelFeed is an organization's subscription to a partner's TAXII 2.1
// collection (an ISAC or CERT feed): where to pull from, with which
// credentials, into which of Bulwark's collections, how often, and where
// the pulls stand. Administrators of the owning organization manage it;
// its members read it; nobody else learns it exists.
type IntelFeed struct {
	ID          string `json:"id"`
	Org         string `json:"org"`
	Name        string `json:"name"` // unique within the organization; imported objects' provenance is "feed:<name>"
	Description string `json:"description,omitempty"`

	// ServerURL is the partner's TAXII discovery URL (https).
	ServerURL string `json:"server_url"`
	// APIRoot is the API root's URL or path; "" takes the discovery
	// resource's default.
	APIRoot string `json:"api_root,omitempty"`
	// Collection is the partner's collection id (or alias).
	Collection string `json:"collection"`
	// Target is the Bulwark collection the objects are imported into; the
	// owning organization must be able to write it.
	Target string `json:"target"`

	// Auth is "none", "basic" (Username and a password) or "bearer" (a
	// token). The password or token is kept only sealed (Secret), is never
	// returned by the API and is readable by the puller alone.
	Auth      FeedAuth `json:"auth"`
	Username  string   `json:"username,omitempty"`
	HasSecret bool     `json:"has_secret"`
	// Secret is the sealed password or token (internal/intelfeed seals
	// it); stores hand it only to the System principal.
	Secret []byte `json:"-"`
	// CACert is the partner's CA certificate (PEM), when its server's
	// certificate is not issued by a public CA.
	CACert string `json:"ca_cert,omitempty"`
	// MinMarking is the least TLP marking of every imported object (the
	// partner's terms); "" keeps each object's own marking.
	MinMarking TLP `json:"min_marking,omitempty"`
	// Interval is the time between scheduled pulls.
	Interval time.Duration `json:"interval"`
	Paused   bool          `json:"paused,omitempty"`

	IntelFeedState

	CreatedBy     int64     `json:"created_by"` // the user whose TLP:RED audience imported RED objects get
	CreatedByName string    `json:"created_by_name,omitempty"`
	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at"`
}

// IntelFeedState is where a subscription's pulls stand. Only the puller
// changes it.
type IntelFeedState struct {
	// AddedAfter is the cursor: every object the partner added up to this
	// time (the server's date_added clock, never Bulwark's) is imported.
	// It never moves backwards.
	AddedAfter time.Time `json:"added_after,omitzero"`
	// ResumeNext and ResumeAfter continue a pull that stopped between two
	// pages: the server's next value and the added_after of the query it
	// belongs to.
	ResumeNext  string    `json:"-"`
	ResumeAfter time.Time `json:"-"`

	LastAttempt time.Time `json:"last_attempt,omitzero"`
	LastSuccess time.Time `json:"last_success,omitzero"`
	// LastError is why the last pull failed ("" after a success).
	LastError string `json:"last_error,omitempty"`
	// Failures counts the pulls that failed in a row.
	Failures int       `json:"failures"`
	NextPull time.Time `json:"next_pull,omitzero"`
	// Imported counts the object versions imported so far; LastCount those
	// of the last pull; LastRejected those the last pull could not import
	// (invalid, or refused by the sharing rules).
	Imported     int64 `json:"imported"`
	LastCount    int   `json:"last_count"`
	LastRejected int   `json:"last_rejected"`
}

// FeedAuth is how a subscription authenticates to the partner.
type FeedAuth string

// Authentication kinds.
const (
	FeedAuthNone   FeedAuth = "none"
	FeedAuthBasic  FeedAuth = "basic"
	FeedAuthBearer FeedAuth = "bearer"
)

// Bounds of a subscription.
const (
	MinIntelFeedInterval = 5 * time.Minute
	MaxIntelFeedInterval = 7 * 24 * time.Hour
	// DefaultIntelFeedInterval is used when none is given.
	DefaultIntelFeedInterval = time.Hour
	// MaxIntelFeedsPerOrg caps one organization's subscriptions.
	MaxIntelFeedsPerOrg = 200
	maxFeedURL          = 2048
	maxFeedCACert       = 64 << 10
)

// IntelFeedFilter selects subscriptions.
type IntelFeedFilter struct {
	// DueBy, when set, selects unpaused subscriptions whose NextPull is at
	// or before it (the scheduler's question; System principal).
	DueBy time.Time
}

// IntelFeedLease is the puller's claim on a subscription: one pull at a
// time, whatever the process.
type IntelFeedLease struct {
	Holder string
	Until  time.Time
}

// IntelFeedStore persists subscriptions. Every method needs a Principal:
// members of the owning organization read its subscriptions (without
// their secrets), its administrators create, change and delete them, and
// the System principal (the puller, the local operator) does everything,
// including reading secrets and recording pulls.
type IntelFeedStore interface {
	CreateIntelFeed(ctx context.Context, f *IntelFeed) error
	// UpdateIntelFeed replaces a subscription's settings (not its state).
	// A nil Secret keeps the stored one (unless Auth becomes none). A
	// different server, API root or collection starts over: the cursor is
	// reset.
	UpdateIntelFeed(ctx context.Context, f *IntelFeed) error
	DeleteIntelFeed(ctx context.Context, id string) error
	FindIntelFeed(ctx context.Context, id string) (*IntelFeed, error)
	ListIntelFeeds(ctx context.Context, f IntelFeedFilter) ([]IntelFeed, error)
	// ClaimIntelFeed takes the subscription's lease for holder until
	// lease.Until, when nobody else holds an unexpired one (ECONFLICT
	// otherwise), and returns the subscription with its secret. Holding
	// it, SaveIntelFeedState records progress; a new Until extends it.
	ClaimIntelFeed(ctx context.Context, id string, lease IntelFeedLease) (*IntelFeed, error)
	// SaveIntelFeedState records a pull's progress for the lease holder
	// (ECONFLICT when the lease was lost). The cursor only moves forward;
	// release ends the lease, and a final save (the pull's end) is
	// audited.
	SaveIntelFeedState(ctx context.Context, id string, lease IntelFeedLease, st IntelFeedState, release bool) error
}

// Validate checks a subscription's settings.
func (f *IntelFeed) Validate() error {
	switch {
	case f.Name == "" || len(f.Name) > 100 || !cleanLine(f.Name):
		return Errorf(EINVALID, "a feed needs a name of 1 to 100 bytes without control characters")
	case len(f.Description) > 2000 || !utf8.ValidString(f.Description):
		return Errorf(EINVALID, "a feed's description is limited to 2000 bytes of UTF-8")
	}
	if err := validFeedURL("server URL", f.ServerURL, true); err != nil {
		return err
	}
	if f.APIRoot != "" {
		if err := validFeedURL("API root", f.APIRoot, false); err != nil {
			return err
		}
	}
	switch {
	case f.Collection == "" || len(f.Collection) > 300 || strings.ContainsAny(f.Collection, "/?#%") || !cleanLine(f.Collection) || strings.ContainsRune(f.Collection, ' '):
		return Errorf(EINVALID, "collection %q: give the partner's collection id", Abbrev(f.Collection, 60))
	case !ValidUUID(f.Target):
		return Errorf(EINVALID, "target %q: give the id (a UUID) of the Bulwark collection to import into", Abbrev(f.Target, 60))
	case f.MinMarking != "" && !f.MinMarking.Valid():
		return Errorf(EINVALID, "minimum marking %q: use clear, green, amber, amber+strict or red", Abbrev(string(f.MinMarking), 40))
	case f.Interval < MinIntelFeedInterval || f.Interval > MaxIntelFeedInterval:
		return Errorf(EINVALID, "the pull interval must be between %s and %s", MinIntelFeedInterval, MaxIntelFeedInterval)
	case len(f.CACert) > maxFeedCACert || (f.CACert != "" && !strings.Contains(f.CACert, "-----BEGIN CERTIFICATE-----")):
		return Errorf(EINVALID, "the CA certificate must be PEM (-----BEGIN CERTIFICATE-----), at most 64 KiB")
	}
	switch f.Auth {
	case FeedAuthNone:
		if f.Username != "" {
			return Errorf(EINVALID, "a username needs auth basic")
		}
	case FeedAuthBasic:
		if f.Username == "" || len(f.Username) > 256 || strings.Contains(f.Username, ":") || !cleanLine(f.Username) {
			return Errorf(EINVALID, "basic authentication needs a username of 1 to 256 bytes without ':' or control characters")
		}
	case FeedAuthBearer:
		if f.Username != "" {
			return Errorf(EINVALID, "bearer authentication takes a token, not a username")
		}
	default:
		return Errorf(EINVALID, "auth %q: use none, basic or bearer", Abbrev(string(f.Auth), 20))
	}
	return nil
}

// validFeedURL checks a TAXII URL's form (internal/taxiiclient checks the
// rest); a path is allowed where absolute is false.
func validFeedURL(what, s string, absolute bool) error {
	if len(s) > maxFeedURL || !cleanLine(s) || strings.ContainsRune(s, ' ') {
		return Errorf(EINVALID, "%s: at most %d bytes, no spaces or control characters", what, maxFeedURL)
	}
	u, err := url.Parse(s)
	if err != nil {
		return Errorf(EINVALID, "%s %q is not a URL", what, Abbrev(s, 100))
	}
	if u.User != nil {
		return Errorf(EINVALID, "%s must not carry credentials: give them separately", what)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return Errorf(EINVALID, "%s must have no query or fragment", what)
	}
	if absolute || u.Scheme != "" || u.Host != "" {
		if u.Scheme != "https" || u.Host == "" {
			return Errorf(EINVALID, "%s %q must be an https:// URL (TAXII 2.1 requires TLS)", what, Abbrev(s, 100))
		}
	}
	return nil
}

// cleanLine reports whether s is valid UTF-8 without control or format
// characters.
func cleanLine(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == '\u2028' || r == '\u2029' {
			return false
		}
	}
	return true
}

// Source is the provenance recorded with the objects the subscription
// imports.
func (f *IntelFeed) Source() string { return "feed:" + f.Name }

// Status summarizes where a subscription stands: "paused", "failing" (its
// last pull failed), "pending" (never pulled successfully) or "ok".
func (f *IntelFeed) Status() string {
	switch {
	case f.Paused:
		return "paused"
	case f.Failures > 0:
		return "failing"
	case f.LastSuccess.IsZero():
		return "pending"
	}
	return "ok"
}
