package intelfeed

import (
	"testing"
	"time"

	"bulwark/internal/sharing/sharingtest"
	"bulwark/internal/stix"
)

// BenchmarkPull5000: one pull of 5,000 objects (pages of 500) from a
// partner Bulwark over TLS into a fresh city: TAXII paging, strict
// decoding, the sharing service's checks and the store's transactions.
func BenchmarkPull5000(b *testing.B) {
	i := newISAC(b)
	base := time.Now().UTC().Add(-time.Hour).Truncate(time.Millisecond)
	const n = 5000
	for k := 0; k < n; k += 1000 {
		var batch []*stix.Object
		for range 1000 {
			batch = append(batch, obj(b, newID("indicator"), base, []string{stix.Green.ID()}, nil))
		}
		i.post(b, batch...)
	}
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		c := newCity(b, Config{PageSize: 500})
		f := c.subscribe(b, i, nil)
		b.StartTimer()
		res, err := c.svc.Pull(sharingtest.SysCtx(), f.ID, nil)
		if err != nil || res.Err != nil || res.New != n {
			b.Fatalf("pull: %+v, %v", res, err)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "objects/s")
}
