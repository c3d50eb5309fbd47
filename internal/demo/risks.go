package demo

import (
	"context"
	"fmt"
	"time"

	"bulwark"
	"bulwark/internal/risk"
	"bulwark/internal/sqlstore"
)

// demoRisk is one entry of the demo city's risk register, with what
// happens to it after it is recorded.
type demoRisk struct {
	risk bulwark.Risk
	// dueDays sets Due that many days from now (0: none).
	dueDays int
	// treat, when set, is a second revision: the risk is being treated.
	treat string
	// acceptDays, when set, accepts the risk for that many days.
	acceptBy   string
	acceptDays int
}

// demoRisks is a small register for Port Halden: plausible scenarios
// against the demo city's real services and systems, each naming its
// ATT&CK for ICS techniques, with 5×5 ratings and FAIR-style ranges
// (events a year; loss of one event in dollars). The numbers are
// invented.
var demoRisks = []demoRisk{
	{risk: bulwark.Risk{ID: "risk-water-scada-ransomware", Owner: "city-water", Title: "Ransomware reaches the water SCADA",
		Scenario:   "A phishing foothold in the city network spreads over the shared remote access path into the water OT network and encrypts the SCADA servers; operators run the treatment plant by hand for days.",
		Techniques: []string{"T0865", "T0886", "T0867", "T0826", "T0828"}, Services: []string{"drinking-water"}, Systems: []string{"water-scada", "water-ot-network"},
		Likelihood: 3, Impact: 5, Frequency: bulwark.Range{Min: 0.05, MostLikely: 0.2, Max: 0.8}, Loss: bulwark.Range{Min: 250_000, MostLikely: 1_200_000, Max: 9_000_000},
		Treatment: bulwark.TreatMitigate, TreatmentOwner: "Water OT lead", TreatmentPlan: "Separate the OT network from the city WAN; one-way transfer for historian data; offline SCADA backups tested quarterly."},
		dueDays: 120, treat: "segmentation project funded in the capital budget"},
	{risk: bulwark.Risk{ID: "risk-water-chemical-dosing", Owner: "city-water", Title: "Chemical dosing set points changed remotely",
		Scenario:   "An attacker with valid vendor credentials changes chlorine and fluoride dosing set points at the Harbor Road plant; alarms are suppressed.",
		Techniques: []string{"T0859", "T0822", "T0836", "T0880"}, Services: []string{"drinking-water"}, Systems: []string{"water-treatment"},
		Likelihood: 2, Impact: 5, Frequency: bulwark.Range{Min: 0.01, MostLikely: 0.05, Max: 0.2}, Loss: bulwark.Range{Min: 500_000, MostLikely: 3_000_000, Max: 25_000_000},
		Treatment: bulwark.TreatMitigate, TreatmentOwner: "Water treatment superintendent", TreatmentPlan: "Hard limits in the PLC logic; vendor access only through the jump host with MFA and session recording."},
		dueDays: 90},
	{risk: bulwark.Risk{ID: "risk-wastewater-overflow", Owner: "city-water", Title: "Wastewater SCADA loss during a storm",
		Scenario:   "The wastewater SCADA is unavailable during a storm surge; lift stations cannot be coordinated and sewage overflows into the harbor.",
		Techniques: []string{"T0814", "T0815", "T0829"}, Services: []string{"wastewater"}, Systems: []string{"wastewater-scada"},
		Likelihood: 2, Impact: 4, Frequency: bulwark.Range{Min: 0.05, MostLikely: 0.15, Max: 0.5}, Loss: bulwark.Range{Min: 100_000, MostLikely: 600_000, Max: 4_000_000}}},
	{risk: bulwark.Risk{ID: "risk-grid-ems-compromise", Owner: "electric-utility", Title: "Grid EMS compromised through a supplier update",
		Scenario:   "A tampered update of the grid energy management system gives an attacker the ability to open breakers across distribution feeders.",
		Techniques: []string{"T0862", "T0855", "T0831", "T0813"}, Services: []string{"electric-distribution"}, Systems: []string{"grid-ems"},
		Likelihood: 2, Impact: 5, Frequency: bulwark.Range{Min: 0.01, MostLikely: 0.04, Max: 0.15}, Loss: bulwark.Range{Min: 2_000_000, MostLikely: 8_000_000, Max: 60_000_000},
		Treatment: bulwark.TreatMitigate, TreatmentOwner: "Grid operations manager", TreatmentPlan: "Verify update signatures and hashes out of band; stage updates on the test EMS first."},
		dueDays: 200, treat: "update verification procedure drafted"},
	{risk: bulwark.Risk{ID: "risk-ami-headend-exposure", Owner: "electric-utility", Title: "AMI head-end abused to disconnect meters",
		Scenario:   "A vulnerability in the AMI head-end lets an attacker send remote disconnect commands to many meters at once.",
		Techniques: []string{"T0866", "T0855", "T0826"}, Services: []string{"electric-metering"}, Systems: []string{"ami-headend", "ami-mesh"},
		Likelihood: 3, Impact: 4, Frequency: bulwark.Range{Min: 0.05, MostLikely: 0.2, Max: 1}, Loss: bulwark.Range{Min: 50_000, MostLikely: 400_000, Max: 3_000_000},
		Treatment: bulwark.TreatMitigate, TreatmentOwner: "Metering lead", TreatmentPlan: "Rate-limit disconnect commands in the head-end; patch to the vendor's fixed release."},
		dueDays: -15}, // overdue
	{risk: bulwark.Risk{ID: "risk-tide-gates-manual", Owner: "city-publicworks", Title: "Tide gates cannot be closed remotely",
		Scenario:   "The tide gate control loses its radio link or is manipulated during a king tide; crews must reach the gates by hand.",
		Techniques: []string{"T0813", "T0832", "T0879"}, Services: []string{"flood-protection"}, Systems: []string{"tide-gates"},
		Likelihood: 2, Impact: 4, Frequency: bulwark.Range{Min: 0.02, MostLikely: 0.1, Max: 0.4}, Loss: bulwark.Range{Min: 200_000, MostLikely: 1_500_000, Max: 12_000_000}},
		acceptBy: "Director of Public Works", acceptDays: 180},
	{risk: bulwark.Risk{ID: "risk-traffic-signal-default-creds", Owner: "city-transport", Title: "Traffic signal controllers with default credentials",
		Scenario:   "Controllers reachable from the traffic network still use factory passwords; an attacker changes signal timing downtown.",
		Techniques: []string{"T0812", "T0836", "T0831"}, Services: []string{"traffic-signals"}, Systems: []string{"signal-controllers", "traffic-network"},
		Likelihood: 4, Impact: 3, Frequency: bulwark.Range{Min: 0.1, MostLikely: 0.5, Max: 2}, Loss: bulwark.Range{Min: 10_000, MostLikely: 80_000, Max: 600_000},
		Treatment: bulwark.TreatMitigate, TreatmentOwner: "Signal systems engineer", TreatmentPlan: "Rotate every controller's credentials; central password vault."},
		dueDays: 45, treat: "half of the corridors done"},
	{risk: bulwark.Risk{ID: "risk-port-crane-control", Owner: "port-terminal", Title: "Crane control halted by malware on engineering laptops",
		Scenario:   "Malware carried on a maintenance laptop spreads through the crane control network and stops the ship-to-shore cranes.",
		Techniques: []string{"T0847", "T0867", "T0828"}, Services: []string{"port-container-ops"}, Systems: []string{"crane-control"},
		Likelihood: 3, Impact: 3, Frequency: bulwark.Range{Min: 0.1, MostLikely: 0.3, Max: 1}, Loss: bulwark.Range{Min: 100_000, MostLikely: 500_000, Max: 2_500_000},
		Treatment: bulwark.TreatTransfer, TreatmentOwner: "Terminal risk manager", TreatmentPlan: "Business interruption cover for cyber events."}},
	{risk: bulwark.Risk{ID: "risk-fuel-terminal-dcs", Owner: "port-terminal", Title: "Fuel terminal DCS safety functions bypassed",
		Scenario:   "An attacker in the fuel terminal DCS spoofs tank level readings and overrides overfill protection.",
		Techniques: []string{"T0856", "T0832", "T0880", "T0879"}, Services: []string{"port-fuel-terminal"}, Systems: []string{"fuel-terminal-dcs"},
		Likelihood: 1, Impact: 5, Frequency: bulwark.Range{Min: 0.002, MostLikely: 0.01, Max: 0.05}, Loss: bulwark.Range{Min: 5_000_000, MostLikely: 20_000_000, Max: 150_000_000}}},
	{risk: bulwark.Risk{ID: "risk-911-cad-outage", Owner: "city-police", Title: "CAD outage during a ransomware attack on the city network",
		Scenario:   "Ransomware in the city data center takes the computer-aided dispatch system down; dispatchers fall back to paper cards.",
		Techniques: []string{"T0865", "T0809", "T0826"}, Services: []string{"911-dispatch"}, Systems: []string{"cad"},
		Likelihood: 3, Impact: 4, Treatment: bulwark.TreatMitigate, TreatmentOwner: "911 systems manager",
		TreatmentPlan: "Standby CAD at the backup center; paper dispatch drills twice a year."}, dueDays: 150},
	{risk: bulwark.Risk{ID: "risk-website-defacement", Owner: "city-it", Title: "City website defaced",
		Scenario:   "An exploited plugin of the city website lets an attacker post false emergency information.",
		Techniques: []string{"T0819"}, Services: []string{"city-website-311"}, Systems: []string{"city-web"},
		Likelihood: 3, Impact: 2, Frequency: bulwark.Range{Min: 0.1, MostLikely: 0.4, Max: 1.5}, Loss: bulwark.Range{Min: 5_000, MostLikely: 20_000, Max: 150_000},
		Status: bulwark.RiskClosed, Treatment: bulwark.TreatAvoid, TreatmentPlan: "The website moved to a static site generator; no plugins remain."}},
}

// SeedRisks adds the demo city's risk register (about ten risks of its
// water, power, public works, transport, port, police and IT
// organizations): some being treated, one accepted for six months, one
// overdue, one closed. Risks already present are left alone, so seeding
// twice is harmless. ctx must carry the System principal (it names each
// risk's owner).
func SeedRisks(ctx context.Context, db *sqlstore.DB, rs *risk.Service) error {
	now := time.Now().UTC().Truncate(24 * time.Hour)
	for _, d := range demoRisks {
		if _, err := db.FindRisk(ctx, d.risk.ID); err == nil {
			continue
		} else if bulwark.ErrorCode(err) != bulwark.ENOTFOUND {
			return fmt.Errorf("demo risk %s: %w", d.risk.ID, err)
		}
		r := d.risk
		r.Techniques = append([]string(nil), d.risk.Techniques...)
		if d.dueDays != 0 {
			r.Due = now.AddDate(0, 0, d.dueDays)
		}
		v, err := rs.Create(ctx, &r)
		if err != nil {
			return fmt.Errorf("demo risk %s: %w", r.ID, err)
		}
		r = v.Risk
		if d.treat != "" {
			r.Status = bulwark.RiskTreating
			if _, err := rs.Update(ctx, &r, d.treat); err != nil {
				return fmt.Errorf("demo risk %s: %w", r.ID, err)
			}
		}
		if d.acceptDays != 0 {
			r.Status, r.Treatment = bulwark.RiskAccepted, bulwark.TreatAccept
			r.AcceptedBy, r.AcceptedUntil = d.acceptBy, now.AddDate(0, 0, d.acceptDays)
			if _, err := rs.Update(ctx, &r, "accepted until the tide gate radio replacement of next year"); err != nil {
				return fmt.Errorf("demo risk %s: %w", r.ID, err)
			}
		}
	}
	return nil
}
