package notify_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"bulwark"
	"bulwark/internal/notify"
	"bulwark/internal/notify/notifytest"
)

// BenchmarkNotify reports one event through the bundled matrix on SQLite:
// rules matched, recipients resolved, views filtered, templates rendered
// and 7 notifications stored in one transaction.
func BenchmarkNotify(b *testing.B) {
	st := openStore(b, false)
	svc := notify.New(st, nil, notify.Config{}, nil)
	ctx := as("water", bulwark.RoleAnalyst)
	b.ResetTimer()
	for i := range b.N {
		ev := waterEvent(3)
		ev.IncidentID = fmt.Sprintf("inc-%d", i)
		if _, err := svc.Notify(ctx, ev); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(7*b.N)/b.Elapsed().Seconds(), "notifications/s")
}

// BenchmarkDeliverWebhook delivers queued notifications to a local webhook
// receiver (signed, claimed and recorded one by one) on SQLite.
func BenchmarkDeliverWebhook(b *testing.B) {
	st := openStore(b, false)
	hook := notifytest.NewWebhookServer(b, hookSecret, nil)
	var src strings.Builder
	src.WriteString("version: 1\nrules:\n  - id: hook\n    audience: isac\n    channel: webhook\n    template: isac\n    recipients:\n")
	for i := range 10 {
		fmt.Fprintf(&src, "      - {url: \"%s/%d\", secret: s}\n", hook.URL, i)
	}
	m, err := notify.ParseMatrix(strings.NewReader(src.String()), "b.yaml")
	if err != nil {
		b.Fatal(err)
	}
	svc := notify.New(st, m, notify.Config{Batch: 50, Workers: 4}, nil)
	svc.SetSender(bulwark.ChannelWebhook, notify.NewWebhook(notify.WebhookConfig{Secrets: map[string]notify.Secret{"s": hookSecret}, Timeout: 5 * time.Second}))
	for i := range (b.N + 9) / 10 {
		ev := waterEvent(2)
		ev.IncidentID = fmt.Sprintf("inc-%d", i)
		if _, err := svc.Notify(sys(), ev); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	n, err := svc.DeliverDue(context.Background())
	if err != nil || n < b.N {
		b.Fatalf("delivered %d of %d: %v", n, b.N, err)
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "deliveries/s")
}
