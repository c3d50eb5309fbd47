// Package notify is Bulwark's communication plan: the notification matrix
// (at which severity and purview to notify whom, through which channel,
// with which template, acknowledged by when), the egress filter deciding
// what each recipient may read of an incident, rendering, the channels
// (e-mail over SMTP, signed webhooks), the delivery loop over the store's
// durable outbox, acknowledgements and escalation.
//
// The incident service reports events with (*Service).Notify; everything
// after that is asynchronous and survives restarts.
package notify

import "bulwark"

// Event is an incident event as the incident service reports it (see
// bulwark.NotificationEvent for the fields).
type Event = bulwark.NotificationEvent

// Event kinds.
const (
	IncidentCreated = bulwark.NotifyIncidentCreated
	SeverityChanged = bulwark.NotifySeverityChanged
	PhaseChanged    = bulwark.NotifyPhaseChanged
	TargetAtRisk    = bulwark.NotifyTargetAtRisk
	// PublicActionChanged: what citizens must do was set or changed.
	PublicActionChanged = bulwark.NotifyPublicActionChanged
)

// severityNames are the NCISS levels' names.
var severityNames = [...]string{"baseline", "low", "medium", "high", "severe", "emergency"}

// SeverityName names an NCISS level: 0 baseline, 1 low, 2 medium, 3 high,
// 4 severe, 5 emergency.
func SeverityName(n int) string {
	if n < 0 || n >= len(severityNames) {
		return "unknown"
	}
	return severityNames[n]
}

// ParseSeverity reads a level as a number (0-5) or a name.
func ParseSeverity(s string) (int, bool) {
	for i, n := range severityNames {
		if s == n || (len(s) == 1 && s[0] == byte('0'+i)) {
			return i, true
		}
	}
	return 0, false
}
