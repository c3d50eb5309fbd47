package intelfeed

import (
	"context"
	"testing"
	"time"

	"bulwark/internal/sharing"
	"bulwark/internal/stix"
)

// A pull of several pages is one batch for the sharing service's observers
// (the notification service's digests): they hear of it once, with every
// version it added, and not at all when it added nothing.
func TestPullIsOneBatch(t *testing.T) {
	i := newISAC(t)
	c := newCity(t, Config{PageSize: 2})
	var got []*sharing.Added
	c.w.Svc.OnAdded(func(_ context.Context, a *sharing.Added) { got = append(got, a) })
	base := time.Now().UTC().Add(-time.Hour).Truncate(time.Millisecond)
	var objs []*stix.Object
	for range 5 {
		objs = append(objs, obj(t, newID("indicator"), base, []string{stix.Green.ID()}, nil))
	}
	i.post(t, objs...)
	f := c.subscribe(t, i, nil)
	res := c.pull(t, f.ID)
	if res.Err != nil || res.New != 5 || res.Pages < 3 {
		t.Fatalf("pull: %+v", res)
	}
	if len(got) != 1 || got[0].Len() != 5 || got[0].Collection != c.intel {
		t.Fatalf("observers told %d times; want once, of 5 versions", len(got))
	}
	got = nil
	if res := c.pull(t, f.ID); res.Err != nil || res.New != 0 {
		t.Fatalf("second pull: %+v", res)
	}
	if len(got) != 0 {
		t.Fatalf("a pull that added nothing was reported %d times", len(got))
	}
}
