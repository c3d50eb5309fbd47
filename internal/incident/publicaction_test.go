package incident_test

import (
	"strings"
	"testing"

	"bulwark"
)

// TestPublicAction: the action for citizens is set on create and carried
// by every event; coordinating parties change it (timeline entry and a
// public_action_changed event), others cannot; bad text is refused.
func TestPublicAction(t *testing.T) {
	w := newWorld(t)
	water := user("city-water", bulwark.RoleAnalyst)
	inc := must(w.svc.Create(water, &bulwark.Incident{Title: "Chlorination fault", Threat: "ransomware",
		PublicAction: "  Boil tap water before drinking.\t", Affected: []bulwark.Affected{{ID: "scada", Effect: bulwark.EffectDown}}}))(t)
	if inc.PublicAction != "Boil tap water before drinking." {
		t.Errorf("created with public action %q (trimmed expected)", inc.PublicAction)
	}
	if ev := w.rec.last(); ev.Kind != bulwark.NotifyIncidentCreated || ev.PublicAction != inc.PublicAction {
		t.Errorf("creation event %s carries %q", ev.Kind, ev.PublicAction)
	}

	for _, tc := range []struct {
		name   string
		action string
		code   string
	}{
		{"control character", "Boil water\x07", bulwark.EINVALID},
		{"newline", "Boil water\nnow", bulwark.EINVALID},
		{"invalid UTF-8", "Boil \xff water", bulwark.EINVALID},
		{"too long", strings.Repeat("a", bulwark.MaxPublicAction+1), bulwark.EINVALID},
		{"unchanged", "Boil tap water before drinking.", bulwark.ECONFLICT},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := w.svc.SetPublicAction(water, inc.ID, tc.action); bulwark.ErrorCode(err) != tc.code {
				t.Errorf("got %v, want %s", err, tc.code)
			}
		})
	}
	if _, err := w.svc.Create(water, &bulwark.Incident{Title: "x", PublicAction: "a\x00b"}); bulwark.ErrorCode(err) != bulwark.EINVALID || !strings.Contains(err.Error(), "public_action") {
		t.Errorf("create with a control character: %v", err)
	}
	// Only the reporter and the coordinators change it; a viewer cannot.
	if _, err := w.svc.SetPublicAction(user("city-water", bulwark.RoleViewer), inc.ID, "Stay home"); bulwark.ErrorCode(err) != bulwark.EFORBIDDEN {
		t.Errorf("viewer changes it: %v", err)
	}
	if _, err := w.svc.SetPublicAction(user("port", bulwark.RoleAdmin), inc.ID, "Stay home"); bulwark.ErrorCode(err) != bulwark.ENOTFOUND {
		t.Errorf("stranger changes it: %v", err)
	}
	n := len(w.rec.kinds())
	ciso := user("city-ciso", bulwark.RoleAnalyst)
	got := must(w.svc.SetPublicAction(ciso, inc.ID, "Use bottled water only."))(t)
	if got.PublicAction != "Use bottled water only." {
		t.Errorf("after the change: %q", got.PublicAction)
	}
	ev := w.rec.last()
	if len(w.rec.kinds()) == n || ev.Kind != bulwark.NotifyPublicActionChanged || ev.PublicAction != got.PublicAction || ev.IncidentID != inc.ID || ev.OrgID != "city-water" {
		t.Errorf("change event %+v", ev)
	}
	// Later events carry it too.
	must(w.svc.SetPhase(water, inc.ID, bulwark.PhaseContainment, ""))(t)
	if ev := w.rec.last(); ev.Kind != bulwark.NotifyPhaseChanged || ev.PublicAction != "Use bottled water only." {
		t.Errorf("phase event %s carries %q", ev.Kind, ev.PublicAction)
	}
	// Withdrawn: recorded, no event (no public notice to send).
	kinds := w.rec.kinds()
	if got := must(w.svc.SetPublicAction(water, inc.ID, ""))(t); got.PublicAction != "" {
		t.Errorf("withdrawn, still %q", got.PublicAction)
	}
	if k := w.rec.kinds(); k != kinds {
		t.Errorf("withdrawal reported events %s", strings.TrimPrefix(k, kinds))
	}
	tl := must(w.svc.Timeline(water, inc.ID))(t)
	var texts []string
	for _, e := range tl {
		if e.Kind == "public_action" {
			texts = append(texts, e.Text)
		}
	}
	if want := "Public action: Use bottled water only.|Public action withdrawn (was: Use bottled water only.)"; strings.Join(texts, "|") != want {
		t.Errorf("timeline public_action entries %q, want %q", texts, want)
	}
}
