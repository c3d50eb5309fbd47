package sharingtest

import (
	"context"
	"fmt"
	"time"

	"bulwark"
	"bulwark/internal/auth"
	"bulwark/internal/sqlstore"
	"bulwark/internal/stix"
)

// The benchmark collection: PopulateBench fills it in a fresh store, the
// TAXII benchmarks (internal/taxii) and the load generator
// (scripts/taxiiload) read it as BenchReader.
const (
	BenchCollection = "5a0ad4a2-3c77-4f6e-9b7e-2e0d3f1c9a10"
	// BenchReader is an analyst of "port", which may read the collection;
	// its password is BenchReaderPassword, hashed with Cheap parameters.
	BenchReader         = "reader@port.example"
	BenchReaderPassword = "pw"
)

// BenchBody is the i-th generated indicator, a realistic one of about 600
// bytes, created t0 + i milliseconds.
func BenchBody(i int, t0 time.Time) []byte {
	id := fmt.Sprintf("indicator--%08x-%04x-4%03x-8%03x-%012x", i, i%65536, i%4096, (i/7)%4096, i*31)
	ts := stix.FormatTimestamp(t0.Add(time.Duration(i) * time.Millisecond))
	return []byte(fmt.Sprintf(`{"type":"indicator","spec_version":"2.1","id":%q,"created_by_ref":"identity--7e9e9a3a-4a1c-4d6f-8a8e-1b2c3d4e5f60","created":%q,"modified":%q,`+
		`"name":"C2 server %d","description":"Command and control server seen beaconing from the water utility's OT network on port 8443; blocked at the boundary.",`+
		`"indicator_types":["malicious-activity"],"pattern":"[ipv4-addr:value = '198.51.%d.%d']","pattern_type":"stix","valid_from":%q,`+
		`"labels":["ics","water"],"confidence":80,"object_marking_refs":[%q]}`, id, ts, ts, i, (i/256)%256, i%256, ts, stix.TLPGreenID))
}

// PopulateBench fills a fresh store with organizations city, water and
// port, the user BenchReader, the community "metro" and BenchCollection
// holding n indicators published by water: nine in ten TLP:GREEN, the tenth
// AMBER+STRICT to water alone (so that the reader's pages skip some).
// Objects are stored 5,000 to a call, so those of one call share their
// date_added. progress, if not nil, is called after each call with the
// number stored so far.
func PopulateBench(ctx context.Context, st *sqlstore.DB, n int, progress func(done int)) error {
	sys := bulwark.WithPrincipal(ctx, bulwark.SystemPrincipal())
	tx, err := st.BeginImport(sys)
	if err != nil {
		return fmt.Errorf("begin import: %w", err)
	}
	if err := tx.PutOrganizations(sys, Orgs("city", "water", "port")); err != nil {
		return fmt.Errorf("organizations: %w", err)
	}
	if _, err := tx.Commit(sys); err != nil {
		return fmt.Errorf("organizations: %w", err)
	}
	hash, err := auth.HashPasswordParams(BenchReaderPassword, Cheap)
	if err != nil {
		return err
	}
	if err := st.CreateUser(sys, &bulwark.User{Org: "port", Email: BenchReader, Name: "Reader", Role: bulwark.RoleAnalyst, PasswordHash: hash}); err != nil {
		return fmt.Errorf("reader: %w", err)
	}
	if err := st.CreateCommunity(sys, &bulwark.Community{ID: "metro", Name: "Metro", Members: []bulwark.CommunityMember{{Org: "city", Owner: true}, {Org: "water"}, {Org: "port"}}}); err != nil {
		return fmt.Errorf("community: %w", err)
	}
	if err := st.CreateCollection(sys, &bulwark.Collection{ID: BenchCollection, Community: "metro", Title: "Bench",
		Access: []bulwark.CollectionAccess{{Org: "water", CanRead: true, CanWrite: true}, {Org: "port", CanRead: true}}}); err != nil {
		return fmt.Errorf("collection: %w", err)
	}
	t0 := time.Now().UTC().Add(-24 * time.Hour).Truncate(time.Millisecond)
	pub := bulwark.WithPrincipal(ctx, bulwark.Principal{UserID: 1, Org: "water", Role: bulwark.RoleAnalyst, Name: "bench"})
	const batch = 5000
	for i := 0; i < n; i += batch {
		objs := make([]bulwark.IntelObject, 0, batch)
		for j := i; j < min(i+batch, n); j++ {
			o, err := stix.ParseObject(BenchBody(j, t0), stix.Limits{})
			if err != nil {
				return fmt.Errorf("object %d: %w", j, err)
			}
			sc := bulwark.IntelScope{Marking: bulwark.TLPGreen, PublisherOrg: "water", PublisherUser: 1}
			if j%10 == 9 {
				sc = bulwark.IntelScope{Marking: bulwark.TLPAmberStrict, Orgs: []string{"water"}, PublisherOrg: "water", PublisherUser: 1}
			}
			objs = append(objs, bulwark.IntelObject{STIXID: o.ID(), Type: o.Type(), SpecVersion: "2.1", Version: o.VersionTime(), IntelScope: sc, Source: "bench", Body: o.JSON()})
		}
		if _, err := st.PutIntelObjects(pub, BenchCollection, objs, nil); err != nil {
			return fmt.Errorf("store objects %d-%d: %w", i, i+len(objs)-1, err)
		}
		if progress != nil {
			progress(i + len(objs))
		}
	}
	return nil
}
