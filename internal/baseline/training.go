package baseline

import (
	"fmt"

	"bulwark"
	"bulwark/internal/training"
)

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
