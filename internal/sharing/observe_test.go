package sharing_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"bulwark"
	"bulwark/internal/sharing"
)

// Observers are told of each committed addition, once per batch, and learn
// of it only what AddedFor lets a given principal see.
func TestOnAddedBatchAndAddedFor(t *testing.T) {
	f := newFixture(t)
	var got []*sharing.Added
	f.w.Svc.OnAdded(func(_ context.Context, a *sharing.Added) { got = append(got, a) })
	now := time.Now().UTC().Truncate(time.Millisecond)
	green, amber, red := newID(), newID(), newID()

	ctx, flush := f.w.Svc.Batch(f.water.Ctx())
	for _, req := range []sharing.PublishRequest{
		{Collection: f.col, Object: indicator(green, now, ""), Marking: bulwark.TLPGreen},
		{Collection: f.col, Object: indicator(amber, now, ""), Marking: bulwark.TLPAmber, Orgs: []string{"power"}},
		{Collection: f.col, Object: indicator(red, now, ""), Marking: bulwark.TLPRed, Users: []int64{f.port.ID}},
	} {
		if _, err := f.w.Svc.Publish(ctx, req); err != nil {
			t.Fatal(err)
		}
	}
	if len(got) != 0 {
		t.Fatalf("reported %d additions before the batch was flushed", len(got))
	}
	flush(ctx)
	if len(got) != 1 || got[0].Len() != 3 || got[0].Collection != f.col || got[0].ID == "" {
		t.Fatalf("want one batch of 3 versions, got %d batches", len(got))
	}
	a := got[0]
	ids := func(items []sharing.AddedItem) []string {
		var out []string
		for _, it := range items {
			out = append(out, it.STIXID)
		}
		slices.Sort(out)
		return out
	}
	sorted := func(s ...string) []string { slices.Sort(s); return s }
	for _, tc := range []struct {
		name string
		p    bulwark.Principal
		want []string
	}{
		{"publisher org", bulwark.Principal{Org: "water", Role: bulwark.RoleViewer}, sorted(green, amber)},
		{"AMBER recipient", bulwark.Principal{Org: "power", Role: bulwark.RoleViewer}, sorted(green, amber)},
		{"community reader", bulwark.Principal{Org: "port", Role: bulwark.RoleViewer}, sorted(green)},
		{"named individual", f.port.Principal(), sorted(green, red)},
		{"outsider", bulwark.Principal{Org: "hospital", Role: bulwark.RoleAdmin}, nil},
		{"system", bulwark.SystemPrincipal(), nil},
		{"nobody", bulwark.Principal{}, nil},
	} {
		v, items, err := f.w.Svc.AddedFor(context.Background(), tc.p, a)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(ids(items), tc.want) {
			t.Errorf("%s: sees %v, want %v", tc.name, ids(items), tc.want)
		}
		if (v == nil) != (tc.want == nil) {
			t.Errorf("%s: collection view %v, want one only with items", tc.name, v)
		}
		if v != nil && v.Access != nil {
			t.Errorf("%s: the collection's access list was handed out", tc.name)
		}
		for _, it := range items {
			if it.Name == "" {
				t.Errorf("%s: %s has no name", tc.name, it.STIXID)
			}
		}
	}
	users, err := f.w.Svc.AddedUsers(context.Background(), a)
	if err != nil || !slices.Equal(users, []int64{f.port.ID}) {
		t.Fatalf("AddedUsers = %v, %v; want the named individual only", users, err)
	}

	// Outside a batch, each write is reported; a duplicate adds nothing.
	got = nil
	if _, err := f.w.Svc.Publish(f.water.Ctx(), sharing.PublishRequest{Collection: f.col, Object: indicator(green, now, ""), Marking: bulwark.TLPGreen}); bulwark.ErrorCode(err) != bulwark.ECONFLICT {
		t.Fatalf("republishing: %v", err)
	}
	f.publish(t, f.water, sharing.PublishRequest{Object: indicator(green, now.Add(time.Second), ""), Marking: bulwark.TLPGreen})
	if len(got) != 1 || got[0].Len() != 1 {
		t.Fatalf("want one report of one version, got %d", len(got))
	}
}
