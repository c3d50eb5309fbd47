package app

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"bulwark"
	"bulwark/internal/notify"
	"bulwark/internal/sharing"
)

// The server's sharing service tells its additions to the notification
// service: a publication queues the digests the matrix's intel_added rules
// ask for, for subscribed organizations that may see it only.
func TestIntelDigestsAreWired(t *testing.T) {
	dir := t.TempDir()
	matrix := filepath.Join(dir, "matrix.yaml")
	src := "version: 1\nrules:\n  - id: intel\n    events: [intel_added]\n    channel: email\n    recipients:\n      - {org: water}\n      - {org: outsider}\n"
	if err := os.WriteFile(matrix, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	m, err := Open(context.Background(), Config{DB: filepath.Join(dir, "b.db"), Addr: "127.0.0.1:0", Notify: notify.Settings{MatrixFile: matrix}})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	sys := bulwark.WithPrincipal(context.Background(), bulwark.SystemPrincipal())
	tx, err := m.Store.BeginImport(sys)
	if err != nil {
		t.Fatal(err)
	}
	contact := func(org string) []bulwark.Contact {
		return []bulwark.Contact{{Name: "Desk", Role: "Security desk", Email: "desk@" + org + ".example"}}
	}
	if err := tx.PutOrganizations(sys, []bulwark.Organization{{ID: "water", Name: "Water", Purview: bulwark.PurviewCity, Contacts: contact("water")},
		{ID: "outsider", Name: "Outsider", Purview: bulwark.PurviewPrivate, Contacts: contact("outsider")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Commit(sys); err != nil {
		t.Fatal(err)
	}
	if err := m.Sharing.CreateCommunity(sys, &bulwark.Community{ID: "c", Name: "C", Members: []bulwark.CommunityMember{{Org: "water", Owner: true}}}); err != nil {
		t.Fatal(err)
	}
	col := &bulwark.Collection{Community: "c", Title: "Intel"}
	if err := m.Sharing.CreateCollection(sys, col); err != nil {
		t.Fatal(err)
	}
	obj := `{"type":"indicator","spec_version":"2.1","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","created":"2030-01-01T00:00:00.000Z",` +
		`"modified":"2030-01-01T00:00:00.000Z","name":"C2","pattern":"[ipv4-addr:value = '198.51.100.1']","pattern_type":"stix","valid_from":"2030-01-01T00:00:00Z"}`
	water := bulwark.WithPrincipal(context.Background(), bulwark.Principal{Org: "water", UserID: 1, Role: bulwark.RoleAnalyst})
	if _, err := m.Sharing.Publish(water, sharing.PublishRequest{Collection: col.ID, Object: []byte(obj), Marking: bulwark.TLPGreen}); err != nil {
		t.Fatal(err)
	}
	page, err := m.Notify.List(sys, bulwark.NotificationFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 1 || page.Items[0].Address != "desk@water.example" || page.Items[0].Subject != "[TLP:GREEN] 1 new intel object in Intel" {
		t.Fatalf("want one digest to water's desk, got %+v", page.Items)
	}
}
