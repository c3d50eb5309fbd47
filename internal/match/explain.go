package match

import (
	"fmt"
	"strings"

	"bulwark"
)

// Explanation says whether and why an asset matches a vulnerability: every
// configuration node with its result, every criterion with the asset CPE
// it was compared with, and every product statement.
type Explanation struct {
	AssetID string `json:"asset_id"`
	VulnID  string `json:"vuln_id"`
	// Known is false when the index holds no vulnerability with this ID.
	Known      bool               `json:"known"`
	Matched    bool               `json:"matched"`
	Confidence bulwark.Confidence `json:"confidence,omitempty"`
	Evidence   string             `json:"evidence,omitempty"`
	// Why sums up a non-match (or a configuration that held only
	// through negation).
	Why            string          `json:"why,omitempty"`
	Configurations []NodeResult    `json:"configurations,omitempty"`
	Products       []ProductResult `json:"products,omitempty"`
	// Problems are asset identifiers that did not parse.
	Problems []string `json:"problems,omitempty"`
}

// NodeResult is one configuration node evaluated against the asset.
type NodeResult struct {
	Operator string            `json:"op"`
	Negate   bool              `json:"negate,omitempty"`
	Result   string            `json:"result"` // true, false, unknown
	Criteria []CriterionResult `json:"criteria,omitempty"`
	Children []NodeResult      `json:"children,omitempty"`
}

// CriterionResult is one criterion evaluated against the asset's CPEs: the
// best outcome over them, with the CPE that gave it.
type CriterionResult struct {
	Criterion  string `json:"criterion"` // with its range fields
	Vulnerable bool   `json:"vulnerable"`
	Result     string `json:"result"`
	AssetCPE   string `json:"asset_cpe,omitempty"`
	Reason     string `json:"reason"`
}

// ProductResult is one product statement evaluated against the asset.
type ProductResult struct {
	Statement string `json:"statement"`
	Result    string `json:"result"`
	Reason    string `json:"reason"`
}

// Explain evaluates one asset against one vulnerability without the
// indexes MatchAll uses: each criterion is compared with each of the
// asset's CPE names and each node is evaluated in turn. Its verdict is the
// one MatchAll gives for the same pair.
func (ix *Index) Explain(a bulwark.Asset, vulnID string) Explanation {
	x := Explanation{AssetID: a.ID, VulnID: vulnID}
	vi, ok := ix.byID[vulnID]
	if !ok {
		x.Why = "the index holds no vulnerability " + vulnID
		return x
	}
	x.Known = true
	inv, problems := NewInventory([]bulwark.Asset{a})
	for _, p := range problems {
		x.Problems = append(x.Problems, p.Message)
	}
	pr := &inv.profiles[0]
	e := &ix.vulns[vi]

	// Configurations: the first root that holds and names a vulnerable
	// criterion of the asset, else the first such root that is unknown.
	var m vulnMatch
	best := triFalse
	negOnly := false
	for r := e.rootStart; r < e.rootEnd; r++ {
		var ev []critEvidence
		nr, t := ix.explainNode(inv, pr, r, &ev)
		x.Configurations = append(x.Configurations, nr)
		if t <= best {
			continue
		}
		found := false
		for _, ce := range ev {
			if ce.res >= t {
				conf := bulwark.ConfidenceExact
				if t == triUnknown {
					conf = bulwark.ConfidenceUnknown
				}
				m = vulnMatch{vi, conf, ix.critText(ce.crit) + " matched " + ce.cpe + ": " + ce.reason}
				best, found = t, true
				break
			}
		}
		if !found {
			negOnly = true
		}
	}
	if negOnly && best == triFalse {
		x.Why = "a configuration holds only through platform (vulnerable=false) criteria or negation: no vulnerable criterion of the asset matched"
	}
	if e.prodStart < e.prodEnd && m.conf != bulwark.ConfidenceExact {
		r, conf, ev := ix.evalProducts(inv, vi, pr, func(p *product, _ int, r prodResult) {
			x.Products = append(x.Products, ProductResult{Statement: p.text, Result: r.match.String(), Reason: r.reason})
		})
		if r != triFalse && rank(conf) > rank(m.conf) {
			m = vulnMatch{vi, conf, ev}
		} else if r == triFalse && ev != "" && m.conf == "" {
			x.Why = ev // suppressed by a fixed or not-affected statement
		}
	}
	if m.conf != "" {
		x.Matched, x.Confidence, x.Evidence, x.Why = true, m.conf, m.evidence, ""
	} else if x.Why == "" {
		x.Why = "no configuration holds and no product statement matched"
	}
	return x
}

// critEvidence is a vulnerable criterion that was not false, in tree order,
// outside negated subtrees.
type critEvidence struct {
	crit   int32
	res    tri
	cpe    string
	reason string
}

func (ix *Index) explainNode(inv *Inventory, pr *profile, n int32, ev *[]critEvidence) (NodeResult, tri) {
	nd := &ix.nodes[n]
	out := NodeResult{Operator: "OR", Negate: nd.negate}
	if nd.and {
		out.Operator = "AND"
	}
	var own []critEvidence // discarded when this node is negated
	t := triFalse
	if nd.and {
		t = triTrue
	}
	combine := func(r tri) {
		if nd.and {
			t = min(t, r)
		} else {
			t = max(t, r)
		}
	}
	for i := nd.critStart; i < nd.critEnd; i++ {
		ref := ix.refs[i]
		cr := CriterionResult{Criterion: ix.critText(ref.crit), Vulnerable: ref.vulnerable, Result: "false", Reason: "the asset has no CPE for this product"}
		res := triFalse
		key := ix.names[ix.crits[ref.crit].name].Key()
		score := -1
		for _, c := range pr.cpes {
			e := &inv.cpes[c]
			if e.key != key && !ix.isWildCrit(ref.crit) {
				continue
			}
			o := ix.evalCrit(ref.crit, e, true)
			// The best result; among equals the CPE that sorts first, as
			// the fast path keeps.
			if sc := int(o.res); sc > score || sc == score && e.text < cr.AssetCPE {
				score, res = sc, o.res
				cr.Result, cr.AssetCPE, cr.Reason = o.res.String(), e.text, o.reason
			}
		}
		out.Criteria = append(out.Criteria, cr)
		combine(res)
		if ref.vulnerable && res != triFalse {
			own = append(own, critEvidence{ref.crit, res, cr.AssetCPE, cr.Reason})
		}
	}
	for ch := nd.childStart; ch < nd.childEnd; ch++ {
		cr, r := ix.explainNode(inv, pr, ch, &own)
		out.Children = append(out.Children, cr)
		combine(r)
	}
	if nd.negate {
		t = triNot(t)
	} else {
		*ev = append(*ev, own...)
	}
	out.Result = t.String()
	return out, t
}

// String renders the explanation for a terminal, one node per line.
func (x Explanation) String() string {
	var sb strings.Builder
	switch {
	case !x.Known:
		fmt.Fprintf(&sb, "%s × %s: %s\n", x.AssetID, x.VulnID, x.Why)
		return sb.String()
	case x.Matched:
		fmt.Fprintf(&sb, "%s × %s: MATCH (%s)\n  evidence: %s\n", x.AssetID, x.VulnID, x.Confidence, x.Evidence)
	default:
		fmt.Fprintf(&sb, "%s × %s: no match: %s\n", x.AssetID, x.VulnID, x.Why)
	}
	for _, p := range x.Problems {
		fmt.Fprintf(&sb, "  problem: %s\n", p)
	}
	for i := range x.Configurations {
		fmt.Fprintf(&sb, "  configuration %d:\n", i+1)
		writeNode(&sb, &x.Configurations[i], "    ")
	}
	for _, p := range x.Products {
		fmt.Fprintf(&sb, "  product %s → %s: %s\n", p.Statement, p.Result, p.Reason)
	}
	return sb.String()
}

func writeNode(sb *strings.Builder, n *NodeResult, indent string) {
	neg := ""
	if n.Negate {
		neg = "NOT "
	}
	fmt.Fprintf(sb, "%s%s%s node → %s\n", indent, neg, n.Operator, n.Result)
	for _, c := range n.Criteria {
		role := "vulnerable"
		if !c.Vulnerable {
			role = "platform"
		}
		fmt.Fprintf(sb, "%s  %s [%s]: ", indent, c.Criterion, role)
		if c.AssetCPE != "" {
			fmt.Fprintf(sb, "%s: ", c.AssetCPE)
		}
		fmt.Fprintf(sb, "%s → %s\n", c.Reason, c.Result)
	}
	for i := range n.Children {
		writeNode(sb, &n.Children[i], indent+"  ")
	}
}
