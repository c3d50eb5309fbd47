package baseline

import (
	"context"
	"fmt"
	"time"

	"bulwark"
	"bulwark/internal/training"
)

// trainingTallies returns the tallies of the training campaigns of the
// organizations the caller sees. Training records are their own
// organization's alone, but an organization's indicators are computed over
// its own data whoever may see it (as its recorded history is), so the
// counts are read as the system and kept for the visible organizations:
// only counts reach the indicator, never a campaign or a person.
func (s *Service) trainingTallies(ctx context.Context, visible []Org, now time.Time) ([]bulwark.CampaignTally, error) {
	sys := bulwark.WithPrincipal(ctx, bulwark.SystemPrincipal())
	all, err := s.st.TallyCampaigns(sys, bulwark.CampaignFilter{Since: now.Add(-training.Window - 48*time.Hour)})
	if err != nil {
		return nil, err
	}
	sees := map[string]bool{}
	for _, o := range visible {
		sees[o.ID] = true
	}
	out := all[:0]
	for _, t := range all {
		if sees[t.Campaign.Org] {
			out = append(out, t)
		}
	}
	return out, nil
}

// trainingCompletion is the training indicator: the people who completed
// their course by its due day over the audiences of the workforce
// campaigns whose due day ended within training.Window. Phishing click
// and report rates over the same window are shown in the detail; they do
// not change the score.
func trainingCompletion(d *Data, in func(string) bool, v bulwark.IndicatorValue) bulwark.IndicatorValue {
	t := training.Pool(d.Training, d.Now, training.Window, in)
	detail := fmt.Sprintf("%d of %d people completed their course by the due date", t.Completion.Num, t.Completion.Den)
	if t.Click.Measured {
		detail += fmt.Sprintf("; phishing simulations: %.1f%% clicked, %.1f%% reported (%d e-mails)", 100*t.Click.Value, 100*t.Report.Value, t.Click.Den)
	}
	return share(v, int(t.Completion.Num), int(t.Completion.Den), "no workforce training campaign was due in the last 365 days", detail)
}
