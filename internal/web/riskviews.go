package web

// View models of the risk register pages.

// RisksPage is the register: the table, the 5×5 heat map and the form to
// add a risk.
type RisksPage struct {
	Base
	// Status is the status filter ("" all, "open", or a risk status);
	// Likelihood and Impact narrow to one heat map cell (0: any).
	Status             string
	Likelihood, Impact int
	Filtered           bool // any filter is set
	Statuses           []Option
	Rows               []RiskRow
	// Heat holds the rows of the heat map, likelihood 5 down to 1.
	Heat []HeatRow
	Open int
	Form *RiskForm // nil for viewers
	// Error is why the posted form was refused.
	Error string
}

// Option is a choice of a select.
type Option struct {
	Value, Label string
	Selected     bool
}

// RiskRow is one row of the register table.
type RiskRow struct {
	ID, Href, Title   string
	Score             int
	Level             string
	Status, Treatment string
	Due, Owner        string
	Overdue, Open     bool
	AcceptanceExpired bool
}

// HeatRow is one likelihood of the heat map.
type HeatRow struct {
	Likelihood int
	Label      string
	Cells      []HeatCell
}

// HeatCell is one cell: the open risks with that likelihood and impact.
type HeatCell struct {
	Likelihood, Impact int
	Count, Score       int
	Level              string // band of the cell's score
	Href               string // the register filtered to the cell
}

// RiskForm is the form that adds a risk.
type RiskForm struct {
	CSRF, Org                 string
	Title, Scenario           string
	Techniques                []string
	Services, Systems         string // IDs separated by commas or spaces
	Findings, Gaps            string
	Likelihood, Impact        int
	FreqMin, FreqML, FreqMax  string
	LossMin, LossML, LossMax  string
	Treatment, TreatmentOwner string
	TreatmentPlan, Due        string
	TechniqueOptions          []Option
	Treatments                []Option
}

// RiskPage is one risk with its links, history and forms.
type RiskPage struct {
	Base
	ID, Title, Scenario  string
	Owner                string
	Score                int
	Level                string
	Likelihood, Impact   int
	Status               string
	Open, Expired        bool
	Treatment            string
	TreatmentOwner       string
	TreatmentPlan        string
	Due                  string
	Overdue              bool
	AcceptedBy           string
	AcceptedUntil        string
	Frequency, Loss      string // "min / most likely / max", "" when unset
	Rev                  int
	UpdatedBy, UpdatedAt string
	Techniques           []TechniqueLink
	Services, Systems    []Link
	Findings, Gaps       []Link
	History              []RiskRevision
	Edit                 *RiskEditForm   // nil for those who may not change it
	Accept               *RiskAcceptForm // nil likewise
	Error                string
	Conflict             bool
	Saved                bool
}

// TechniqueLink is an ATT&CK technique a risk names.
type TechniqueLink struct {
	ID, Name, URL string
}

// RiskRevision is one row of a risk's history.
type RiskRevision struct {
	Rev                      int
	At, Actor, Note          string
	Status, Treatment, Level string
	Score                    int
}

// RiskEditForm edits a risk's assessment and treatment.
type RiskEditForm struct {
	CSRF, Action             string
	Rev                      int
	Status, Treatment        string
	TreatmentOwner           string
	TreatmentPlan, Due       string
	Likelihood, Impact       int
	FreqMin, FreqML, FreqMax string
	LossMin, LossML, LossMax string
	Note                     string
	Statuses, Treatments     []Option
}

// RiskAcceptForm accepts a risk until a date.
type RiskAcceptForm struct {
	CSRF, Action string
	Rev          int
	By, Until    string
	Note         string
	MinUntil     string
}

// RiskAnalysisPage is the Monte Carlo analysis of the open risks.
type RiskAnalysisPage struct {
	Base
	Trials             int
	Seed               uint64
	Open, Quantified   int
	Mean, MeanLow      string
	MeanHigh           string
	P50, P90, P99, Max string
	PZero              string
	Curve              string // JSON {"points": [[loss, probability], ...]}
	Rows               []AnalysisRow
	Skipped            []Link
	Error              string
}

// AnalysisRow is one quantified risk of the analysis.
type AnalysisRow struct {
	Href, Title, Owner string
	Level              string
	Score              int
	Mean, P90, P99     string
	PZero              string
}
