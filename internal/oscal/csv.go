package oscal

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"time"

	"bulwark"
	"bulwark/internal/csvsafe"
)

// CSVHeader is the first row WriteResultsCSV writes.
var CSVHeader = []string{
	"assessment", "owner", "scope_kind", "scope", "catalog", "control", "title",
	"status", "current_tier", "target_tier", "assessor", "at", "rev", "evidence", "notes",
}

// WriteResultsCSV writes one RFC 4180 row per assessment and control: every
// assessable control of the assessment's catalog in catalog order (empty
// status when not assessed yet), then any result for a control the
// catalog does not list (or every result, when the catalog is not given).
// The title column holds the control's title, or the first line of its
// statement when the title only repeats the ID (CSF subcategories).
//
// Spreadsheets run a cell that starts with '=', '+', '-' or '@' as a
// formula, so an assessor's note such as "=HYPERLINK(…)" could act on the
// reader's machine. Such cells, and those starting with a tab or carriage
// return, are prefixed with a single quote, which spreadsheets show as
// text; the value is otherwise unchanged.
func WriteResultsCSV(w io.Writer, assessments []*bulwark.Assessment, catalogs []*bulwark.Catalog) error {
	byID := map[string]*bulwark.Catalog{}
	for _, c := range catalogs {
		if c != nil {
			byID[c.ID] = c
		}
	}
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVHeader); err != nil {
		return fmt.Errorf("oscal: writing CSV: %w", err)
	}
	for _, a := range assessments {
		if a == nil {
			continue
		}
		results := map[string]*bulwark.ControlResult{}
		for i := range a.Results {
			results[a.Results[i].Control] = &a.Results[i]
		}
		done := map[string]bool{}
		row := func(control, title string) error {
			done[control] = true
			rec := []string{a.ID, a.Owner, scopeKindName(a.ScopeKind), a.Scope, a.Catalog, control, title}
			if r := results[control]; r != nil {
				at := ""
				if !r.At.IsZero() {
					at = r.At.UTC().Format(time.RFC3339)
				}
				rec = append(rec, string(r.Status), tier(r.CurrentTier), tier(r.TargetTier), r.Assessor, at,
					strconv.Itoa(r.Rev), strconv.Itoa(len(r.Evidence)), r.Notes)
			} else {
				rec = append(rec, "", "", "", "", "", "", "0", "")
			}
			for i := range rec {
				rec[i] = csvsafe.Defuse(rec[i])
			}
			return cw.Write(rec)
		}
		if c := byID[a.Catalog]; c != nil {
			for _, ctl := range c.Controls {
				if !ctl.Assessable {
					continue
				}
				if err := row(ctl.ID, displayTitle(&ctl)); err != nil {
					return fmt.Errorf("oscal: writing CSV: %w", err)
				}
			}
		}
		for _, r := range a.Results {
			if done[r.Control] {
				continue
			}
			if err := row(r.Control, ""); err != nil {
				return fmt.Errorf("oscal: writing CSV: %w", err)
			}
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("oscal: writing CSV: %w", err)
	}
	return nil
}

func tier(n int) string {
	if n == 0 {
		return ""
	}
	return strconv.Itoa(n)
}
