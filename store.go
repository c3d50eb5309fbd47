package bulwark

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"time"
)

// Store is everything Bulwark persists. Implementations (internal/sqlstore)
// scope every read and write to the Principal carried by ctx: a caller sees
// the entities of its own organization plus those of organizations that
// share with it, and writes only its own. A ctx without a Principal gets
// EUNAUTHORIZED. The System principal (the local operator) sees everything.
type Store interface {
	// Dialect is "sqlite" or "postgres".
	Dialect() string
	Close() error

	CityStore
	UserStore
	AuditStore
	VulnStore
	SBOMStore
	BaselineStore
	RiskStore
	SimRunStore
	IntelStore
	NotificationStore
	IncidentStore
	IntelFeedStore
	TrainingStore
}

// ListOptions selects one page of a listing. Pages are keyset-paginated by
// ID: pass the Next cursor of one page as After to get the following one.
type ListOptions struct {
	Limit  int    // 1..MaxPageSize; 0 means DefaultPageSize
	After  string // return items with ID > After
	Owner  string // only entities owned by this organization
	Query  string // case-insensitive substring of ID or name
	Sector Sector // services only
	Kind   string // assets only: asset kind
	System string // assets only: the system they are part of
}

// Page sizes for listings.
const (
	DefaultPageSize = 50
	MaxPageSize     = 1000
)

// Page is one page of a listing; Next is "" on the last page.
type Page[T any] struct {
	Items []T
	Next  string
}

// Counts is the number of entities of each kind visible to the caller.
type Counts struct {
	Organizations int64
	Services      int64
	Systems       int64
	Assets        int64
	AssetUnits    int64 // assets weighted by fleet count
	Dependencies  int64
}

// CityStore persists the city model.
type CityStore interface {
	// BeginImport starts one transaction into which a whole import (any
	// number of files, streamed in chunks) is written. Nothing is visible
	// to others until Commit; Rollback (or an error) stores nothing.
	BeginImport(ctx context.Context) (ImportTx, error)
	// ResolveIDs returns the kind of each of ids that exists and is visible.
	ResolveIDs(ctx context.Context, ids []string) (map[string]NodeKind, error)

	ListOrganizations(ctx context.Context, opt ListOptions) (Page[Organization], error)
	FindOrganization(ctx context.Context, id string) (*Organization, error)
	ListServices(ctx context.Context, opt ListOptions) (Page[Service], error)
	FindService(ctx context.Context, id string) (*Service, error)
	ListSystems(ctx context.Context, opt ListOptions) (Page[System], error)
	FindSystem(ctx context.Context, id string) (*System, error)
	ListAssets(ctx context.Context, opt ListOptions) (Page[Asset], error)
	FindAsset(ctx context.Context, id string) (*Asset, error)
	// DeleteEntity removes a service, system or asset the caller owns, with
	// the dependencies that start or end at it.
	DeleteEntity(ctx context.Context, kind NodeKind, id string) error
	CountEntities(ctx context.Context) (Counts, error)
	// LoadGraph returns the visible dependency graph in compact form.
	LoadGraph(ctx context.Context) (*GraphData, error)
}

// ImportTx receives one import. Put methods upsert by ID: an entity whose
// content is unchanged is left alone (and counted as unchanged), so
// importing the same file twice changes nothing. Dependencies may name
// entities put later in the same transaction or already stored; they are
// resolved at Commit.
type ImportTx interface {
	PutOrganizations(ctx context.Context, orgs []Organization) error
	PutServices(ctx context.Context, services []Service) error
	PutSystems(ctx context.Context, systems []System) error
	PutAssets(ctx context.Context, assets []Asset) error
	Commit(ctx context.Context) (ImportStats, error)
	Rollback() error
}

// ImportStats counts what an import did.
type ImportStats struct {
	Created   int64
	Updated   int64
	Unchanged int64
	// ChangedAssets lists the assets created or updated, up to
	// MaxChangedAssets (AssetsTruncated says more changed); OthersChanged
	// counts the organizations, services and systems created or updated.
	// Matching uses them to re-evaluate only what changed.
	ChangedAssets   []string
	AssetsTruncated bool
	OthersChanged   int64
}

// MaxChangedAssets bounds ImportStats.ChangedAssets.
const MaxChangedAssets = 100_000

// GraphNode is a node of the compact graph as the store returns it. Ref is
// the store's integer key; algorithms renumber nodes densely.
type GraphNode struct {
	Ref        int64
	ID         string
	Kind       NodeKind
	Owner      string
	Name       string
	Population int64    // services only
	Category   Category // services only (as declared)
	Count      int64    // assets: fleet size
}

// GraphEdge is "From depends on To". Group names a redundancy group of From.
type GraphEdge struct {
	From, To int64 // Refs
	Kind     DepKind
	Group    string
}

// GraphGroup is a redundancy group of Owner: it needs Need of its members.
type GraphGroup struct {
	Owner int64 // Ref
	ID    string
	Need  int
}

// GraphData is the dependency graph in the plain form stores produce and
// internal/depgraph compiles.
type GraphData struct {
	Nodes  []GraphNode
	Edges  []GraphEdge
	Groups []GraphGroup
}

// UserStore persists users, API tokens and sessions.
type UserStore interface {
	CreateUser(ctx context.Context, u *User) error
	// FindUserByEmail is for authentication only: it is not scoped, since
	// the caller is not yet known.
	FindUserByEmail(ctx context.Context, email string) (*User, error)
	FindUser(ctx context.Context, id int64) (*User, error)
	ListUsers(ctx context.Context) ([]User, error)
	SetUserDisabled(ctx context.Context, id int64, disabled bool) error
	SetUserPassword(ctx context.Context, id int64, hash string) error

	CreateToken(ctx context.Context, t *Token) error
	// FindTokenByHash is for authentication only (not scoped). It returns
	// ENOTFOUND for unknown, revoked or expired tokens and disabled users.
	FindTokenByHash(ctx context.Context, hash string, now time.Time) (*Token, *User, error)
	ListTokens(ctx context.Context) ([]Token, error)
	RevokeToken(ctx context.Context, id int64) error

	CreateSession(ctx context.Context, s *Session) error
	// FindSession is for authentication only (not scoped); it returns
	// ENOTFOUND for unknown or expired sessions and disabled users.
	FindSession(ctx context.Context, hash string, now time.Time) (*Session, *User, error)
	DeleteSession(ctx context.Context, hash string) error
}

// AuditStore is the append-only, hash-chained audit log. Stores append to
// it inside the same transaction as every change they make.
type AuditStore interface {
	// AppendAudit records an event that is not itself a stored change
	// (a failed login, a denied request, an export).
	AppendAudit(ctx context.Context, e AuditEntry) error
	// ListAudit returns entries with Seq > after in order (system-wide for
	// the System principal; the caller's organization otherwise).
	ListAudit(ctx context.Context, after int64, limit int) ([]AuditEntry, error)
}

// ComputeHash returns the hex SHA-256 that chains e to the entry before it:
// it covers Prev and every field except Hash, each length-prefixed so that
// no two different entries hash alike.
func (e AuditEntry) ComputeHash() string {
	h := sha256.New()
	for _, f := range []string{
		e.Prev, strconv.FormatInt(e.Seq, 10), e.At.UTC().Format(time.RFC3339Nano),
		e.Org, e.Actor, e.Action, e.Target, e.Outcome, e.Detail,
	} {
		h.Write([]byte(strconv.Itoa(len(f))))
		h.Write([]byte{':'})
		h.Write([]byte(f))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// VerifyAudit checks that entries (in Seq order, starting at the first entry
// of the log) form an unbroken chain. It returns the number verified and a
// description of the first break.
func VerifyAudit(entries []AuditEntry, prev string, prevSeq int64) (ok int, problem string) {
	for _, e := range entries {
		switch {
		case e.Seq != prevSeq+1:
			return ok, "entry " + strconv.FormatInt(prevSeq+1, 10) + " is missing (next is " + strconv.FormatInt(e.Seq, 10) + ")"
		case e.Prev != prev:
			return ok, "entry " + strconv.FormatInt(e.Seq, 10) + " does not chain to the entry before it"
		case e.ComputeHash() != e.Hash:
			return ok, "entry " + strconv.FormatInt(e.Seq, 10) + " was altered (hash mismatch)"
		}
		prev, prevSeq = e.Hash, e.Seq
		ok++
	}
	return ok, ""
}

// NormalizeEmail lower-cases and trims an e-mail address for lookups.
func NormalizeEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }
