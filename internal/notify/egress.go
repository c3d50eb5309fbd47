package notify

import (
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"bulwark"
)

// The egress filter: what one recipient may read of an event. It is the
// only source of every channel's content (the e-mail's subject and body are
// rendered from the View, the webhook's JSON is the View), so what leaves
// is the same whatever the channel (reliability row AC-07):
//
//   - the incident's own organization reads everything;
//   - any other organization, and addresses outside Bulwark, read the
//     incident's ID, reporting organization, kind, title, severity, phase,
//     purview and public action, and of the affected services only those
//     the recipient's organization may see in Bulwark anyway (its own and
//     those shared with it; none for an address outside Bulwark), with the
//     target at risk only when it sees one of them; never the summary;
//   - the public reads the kind, severity, the affected services' names and
//     what to do, nothing else.

// ServiceRef names an affected service.
type ServiceRef struct {
	ID   string `json:"id,omitempty"`
	Name string `json:"name"`
}

// Escalation says whose acknowledgement is missing.
type Escalation struct {
	Audience  bulwark.NotifyAudience `json:"audience"`
	Recipient string                 `json:"recipient"` // a name or organization, never an address
	DueBy     time.Time              `json:"due_by"`
}

// View is an event as one recipient may read it.
type View struct {
	Audience             bulwark.NotifyAudience  `json:"audience"`
	Kind                 bulwark.NotifyEventKind `json:"kind"`
	What                 string                  `json:"what"`
	IncidentID           string                  `json:"incident_id,omitempty"`
	Org                  string                  `json:"org,omitempty"`
	OrgName              string                  `json:"org_name,omitempty"`
	Title                string                  `json:"title,omitempty"`
	Summary              string                  `json:"summary,omitempty"`
	Severity             int                     `json:"severity"`
	SeverityName         string                  `json:"severity_name"`
	PreviousSeverity     int                     `json:"previous_severity,omitempty"`
	PreviousSeverityName string                  `json:"previous_severity_name,omitempty"`
	Phase                string                  `json:"phase,omitempty"`
	Purview              string                  `json:"purview,omitempty"`
	Services             []ServiceRef            `json:"services,omitempty"`
	Target               string                  `json:"target,omitempty"`
	PublicAction         string                  `json:"public_action,omitempty"`
	At                   time.Time               `json:"at"`
	DueBy                time.Time               `json:"due_by,omitzero"`
	Escalation           *Escalation             `json:"escalation,omitempty"`
	// Recipient is the recipient's name, for a greeting.
	Recipient string `json:"-"`
}

// Facts is what the filter needs to know beyond the event: the affected
// services' names and owners, and which of them the recipient's
// organization may see.
type Facts struct {
	Services []ServiceRef // every affected service, in event order
	// Visible lists the IDs of those the recipient's organization sees.
	Visible []string
	OrgName string // the reporting organization's name
}

// Redact returns the view of ev for a recipient of audience in organization
// recipientOrg ("" for an address outside Bulwark).
func Redact(ev *Event, audience bulwark.NotifyAudience, recipientOrg string, f Facts) View {
	v := View{Audience: audience, Kind: ev.Kind, What: what(ev), Severity: ev.Severity, SeverityName: SeverityName(ev.Severity), At: ev.At.UTC()}
	if ev.Kind == SeverityChanged {
		v.PreviousSeverity, v.PreviousSeverityName = ev.PreviousSeverity, SeverityName(ev.PreviousSeverity)
	}
	switch {
	case audience == bulwark.AudiencePublic:
		for _, s := range f.Services {
			v.Services = append(v.Services, ServiceRef{Name: s.Name})
		}
		v.PublicAction = ev.PublicAction
		v.PreviousSeverity, v.PreviousSeverityName = 0, ""
	case recipientOrg != "" && recipientOrg == ev.OrgID:
		v.IncidentID, v.Org, v.OrgName, v.Title, v.Summary = ev.IncidentID, ev.OrgID, f.OrgName, ev.Title, ev.Summary
		v.Phase, v.Purview, v.Target, v.PublicAction = ev.Phase, string(ev.Purview), ev.Target, ev.PublicAction
		v.Services = slices.Clone(f.Services)
	default:
		v.IncidentID, v.Org, v.OrgName, v.Title = ev.IncidentID, ev.OrgID, f.OrgName, ev.Title
		v.Phase, v.Purview, v.PublicAction = ev.Phase, string(ev.Purview), ev.PublicAction
		if recipientOrg != "" {
			for _, s := range f.Services {
				if slices.Contains(f.Visible, s.ID) {
					v.Services = append(v.Services, s)
				}
			}
		}
		if len(v.Services) > 0 {
			v.Target = ev.Target
		}
	}
	return clean(v)
}

// what describes the event in plain words.
func what(ev *Event) string {
	switch ev.Kind {
	case IncidentCreated:
		return "New incident"
	case SeverityChanged:
		if ev.Severity > ev.PreviousSeverity {
			return "Severity raised"
		}
		return "Severity lowered"
	case PhaseChanged:
		return "Incident phase changed"
	case TargetAtRisk:
		return "Resilience target at risk"
	case PublicActionChanged:
		return "Action for the public"
	}
	return "Incident update"
}

// Limits of a view's text after cleaning.
const (
	maxLineField = 500
	maxTextField = 10_000
)

// clean makes every text field safe for any channel: one-line fields lose
// line breaks and control characters, multi-line fields keep "\n" only,
// and invisible direction overrides go (a title must not reorder what a
// reader sees).
func clean(v View) View {
	v.IncidentID = oneLine(v.IncidentID, maxLineField)
	v.Org = oneLine(v.Org, maxLineField)
	v.OrgName = oneLine(v.OrgName, maxLineField)
	v.Title = oneLine(v.Title, maxLineField)
	v.Phase = oneLine(v.Phase, maxLineField)
	v.Purview = oneLine(v.Purview, maxLineField)
	v.Recipient = oneLine(v.Recipient, maxLineField)
	v.Summary = multiLine(v.Summary, maxTextField)
	v.Target = multiLine(v.Target, maxTextField)
	v.PublicAction = multiLine(v.PublicAction, maxTextField)
	for i := range v.Services {
		v.Services[i].ID = oneLine(v.Services[i].ID, maxLineField)
		v.Services[i].Name = oneLine(v.Services[i].Name, maxLineField)
	}
	if v.Escalation != nil {
		e := *v.Escalation
		e.Recipient = oneLine(e.Recipient, maxLineField)
		v.Escalation = &e
	}
	return v
}

// invisible reports characters that change how text around them is shown
// or are not shown at all: bidirectional overrides and isolates, zero-width
// and other format characters.
func invisible(r rune) bool {
	return unicode.Is(unicode.Cf, r) && r != '\u00ad'
}

// oneLine returns s on one line: line breaks and tabs become spaces, other
// control and format characters are dropped, runs of spaces collapse, and
// the result is cut at n bytes.
func oneLine(s string, n int) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	var b strings.Builder
	space := false
	for _, r := range s {
		switch {
		case r == '\n' || r == '\r' || r == '\t' || r == '\u2028' || r == '\u2029' || r == '\u0085' || unicode.IsSpace(r):
			if !space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = true
			continue
		case unicode.IsControl(r) || invisible(r):
			continue
		}
		b.WriteRune(r)
		space = false
	}
	return strings.TrimRight(truncateRunes(b.String(), n), " ")
}

// multiLine keeps "\n" line breaks (CR LF and CR become LF, Unicode line
// separators too), drops other control and format characters, and cuts at
// n bytes.
func multiLine(s string, n int) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	s = strings.ReplaceAll(s, "\r\n", "\n")
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\n' || r == '\r' || r == '\u2028' || r == '\u2029' || r == '\u0085':
			b.WriteByte('\n')
		case r == '\t':
			b.WriteString("    ")
		case unicode.IsControl(r) || invisible(r):
		default:
			b.WriteRune(r)
		}
	}
	return truncateRunes(strings.TrimSpace(b.String()), n)
}

// truncateRunes cuts s at n bytes without splitting a character.
func truncateRunes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
