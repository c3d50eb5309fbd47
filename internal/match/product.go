package match

import (
	"fmt"
	"strings"
	"unicode"

	"bulwark"
	"bulwark/internal/cpe"
	"bulwark/internal/purl"
	"bulwark/internal/version"
)

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }

// prodKind says how a product statement names its product. A statement
// that carries several identifiers is matched by the most precise one:
// PURL, then CPE, then vendor and product names.
type prodKind uint8

const (
	byPURL prodKind = iota + 1
	byCPE
	byName
)

// product is one compiled CVE 5 / CSAF product statement.
type product struct {
	vuln   int32
	status bulwark.ProductStatus
	kind   prodKind
	key    string   // PURL key, CPE key, or normalised vendor
	name   cpe.Name // byCPE
	// product and models, normalised (byName).
	product string
	models  []string
	// all is set when the statement gives no version: every version of the
	// product is meant.
	all      bool
	rng      version.Range
	rangeErr string // why the range did not parse; "" when it did
	text     string // the statement as evidence shows it
	// rawVersion and rawRange are the statement's version fields as given,
	// kept for snapshots (ranges are re-parsed on load).
	rawVersion, rawRange string
}

// corporateSuffixes are words that name a company's legal form rather than
// the company: "Siemens AG" and "Siemens" are one vendor.
var corporateSuffixes = map[string]bool{
	"ag": true, "gmbh": true, "inc": true, "incorporated": true, "co": true,
	"corp": true, "corporation": true, "ltd": true, "limited": true, "llc": true,
	"sa": true, "se": true, "spa": true, "plc": true, "kg": true, "kgaa": true,
	"bv": true, "nv": true, "ab": true, "oy": true, "as": true, "asa": true,
	"srl": true, "sas": true, "pty": true, "lp": true, "company": true, "the": true,
}

// tokens splits s into lowercase runs of letters and digits.
func tokens(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
}

// NormVendor returns the key vendor names are compared by: lowercase
// letters and digits only, legal-form words dropped. "Siemens AG" →
// "siemens"; "Schneider Electric", "schneider_electric" and
// "schneider-electric" → "schneiderelectric".
func NormVendor(s string) string {
	var sb strings.Builder
	for _, t := range tokens(s) {
		if !corporateSuffixes[t] {
			sb.WriteString(t)
		}
	}
	return sb.String()
}

// NormProduct returns the key product names and model numbers are compared
// by: lowercase letters and digits only, and without a leading vendor name
// ("Siemens SIMATIC S7-1200" under vendor "siemens" → "simatics71200").
func NormProduct(vendorKey, s string) string {
	var sb strings.Builder
	for _, t := range tokens(s) {
		sb.WriteString(t)
	}
	p := sb.String()
	if vendorKey != "" && len(p) > len(vendorKey) && strings.HasPrefix(p, vendorKey) {
		p = p[len(vendorKey):]
	}
	return p
}

// minContained is the shortest product or model key that may match by
// containment: "s7" must not match every Siemens product.
const minContained = 4

func (b *Builder) addProduct(vi int32, id string, a *bulwark.AffectedProduct) {
	ix := b.ix
	p := product{vuln: vi, status: a.Status}
	switch {
	case a.PURL != "":
		u, err := purl.Parse(a.PURL)
		if err != nil {
			b.problem(id, "affected.purl", "%q: %v", a.PURL, err)
			return
		}
		p.kind, p.key = byPURL, b.str(u.Key())
		if a.Version == "" && a.Range == "" && u.Version != "" {
			a2 := *a
			a2.Version = u.Version
			a = &a2
		}
	case a.CPE != "":
		n, err := cpe.Parse(a.CPE)
		if err != nil {
			b.problem(id, "affected.cpe", "%q: %v", a.CPE, err)
			return
		}
		if isWild(n[cpe.Part]) || isWild(n[cpe.Vendor]) || isWild(n[cpe.Product]) {
			b.problem(id, "affected.cpe", "%q: vendor or product is a wildcard", a.CPE)
			return
		}
		for i := range n {
			n[i] = b.str(n[i])
		}
		p.kind, p.key, p.name = byCPE, b.str(n.Key()), n
		if a.Version == "" && a.Range == "" && n[cpe.Version] != "*" && n[cpe.Version] != "-" {
			a2 := *a
			a2.Version = unescape(n[cpe.Version])
			a = &a2
		}
	default:
		v := NormVendor(a.Vendor)
		if v == "" {
			b.problem(id, "affected.vendor", "product %q names no vendor", a.Product)
			return
		}
		p.kind, p.key = byName, b.str(v)
		p.product = b.str(NormProduct(v, a.Product))
		for _, m := range a.Models {
			if k := NormProduct(v, m); k != "" {
				p.models = append(p.models, b.str(k))
			}
		}
		if p.product == "" && len(p.models) == 0 {
			b.problem(id, "affected.product", "vendor %q names no product or model", a.Vendor)
			return
		}
	}
	p.rawVersion, p.rawRange = b.str(a.Version), b.str(a.Range)
	p.rng, p.all, p.rangeErr = statementRange(a.Version, a.Range)
	p.text = b.str(productText(a))
	pi := int32(len(ix.products))
	ix.products = append(ix.products, p)
	switch p.kind {
	case byPURL:
		ix.prodByPURL[p.key] = append(ix.prodByPURL[p.key], pi)
	case byCPE:
		ix.prodByCPE[p.key] = append(ix.prodByCPE[p.key], pi)
	default:
		ix.prodByVendor[p.key] = append(ix.prodByVendor[p.key], pi)
	}
}

// statementRange parses a statement's version: Range in the source's own
// syntax (with Version as its start when Range is CVE 5's "< X" or "<= X"),
// else Version exactly, else every version.
func statementRange(ver, rng string) (r version.Range, all bool, errText string) {
	rs := strings.TrimSpace(rng)
	vs := strings.TrimSpace(ver)
	var err error
	switch {
	case rs == "" && (vs == "" || vs == "*"):
		return r, true, ""
	case rs == "":
		r, err = version.Exactly(vs)
	case vs != "" && strings.HasPrefix(rs, "<="):
		r, err = version.CVE5(vs, "", strings.TrimSpace(rs[2:]))
	case vs != "" && strings.HasPrefix(rs, "<"):
		r, err = version.CVE5(vs, strings.TrimSpace(rs[1:]), "")
	default:
		r, err = version.ParseRange(rs)
	}
	if err != nil {
		return r, false, err.Error()
	}
	return r, false, ""
}

func productText(a *bulwark.AffectedProduct) string {
	var sb strings.Builder
	if a.Source != "" {
		sb.WriteString(a.Source)
		sb.WriteString(" ")
	}
	switch {
	case a.PURL != "":
		sb.WriteString(a.PURL)
	case a.CPE != "":
		sb.WriteString(a.CPE)
	default:
		fmt.Fprintf(&sb, "%q %q", a.Vendor, a.Product)
		if len(a.Models) > 0 {
			fmt.Fprintf(&sb, " models %q", a.Models)
		}
	}
	if a.Version != "" {
		fmt.Fprintf(&sb, " version %q", a.Version)
	}
	if a.Range != "" {
		fmt.Fprintf(&sb, " range %q", a.Range)
	}
	sb.WriteString(" ")
	sb.WriteString(string(a.Status))
	return sb.String()
}

// unescape removes the backslashes CPE formatted strings quote characters
// with, so that "4\.2" reads as the version 4.2.
func unescape(s string) string {
	if strings.IndexByte(s, '\\') < 0 {
		return s
	}
	var sb strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		sb.WriteByte(s[i])
	}
	return sb.String()
}

// prodResult is the outcome of one product statement against one asset.
type prodResult struct {
	match  tri // triUnknown: the product matched, the version could not be compared
	conf   bulwark.Confidence
	reason string
}

// evalProduct evaluates statement p against each of the asset's
// identifiers of the statement's kind and calls fn with the identifier's
// number (unique within the profile) and the outcome.
func (ix *Index) evalProduct(inv *Inventory, p *product, pr *profile, fn func(id int, r prodResult)) {
	switch p.kind {
	case byPURL:
		for i, u := range pr.purls {
			if e := &inv.purls[u]; e.key == p.key {
				fn(i, p.versionFits(e.version, e.ver, e.verOK, bulwark.ConfidenceExact, "PURL "+e.text))
			}
		}
	case byCPE:
		for i, c := range pr.cpes {
			e := &inv.cpes[c]
			if e.key == p.key && cpe.MatchesExcept(p.name, e.name, cpe.Version) {
				fn(1<<20+i, p.versionFits(e.version, e.ver, e.verOK, bulwark.ConfidenceExact, "CPE "+e.text))
			}
		}
	default:
		for i := range pr.names {
			n := &pr.names[i]
			if n.vendor != p.key {
				continue
			}
			how, exact := p.nameFits(n.product)
			if how == "" {
				continue
			}
			conf := bulwark.ConfidenceHigh
			if !exact {
				conf = bulwark.ConfidenceLow
			}
			fn(2<<20+i, p.versionFits(n.version, n.ver, n.verOK, conf, n.text+" ("+how+")"))
		}
	}
}

// nameFits says how an asset product key matches the statement's product
// and models: equal (exact) or one containing the other (a heuristic).
func (p *product) nameFits(assetProduct string) (how string, exact bool) {
	if assetProduct == "" {
		return "", false
	}
	if assetProduct == p.product {
		return "vendor and product equal after normalisation", true
	}
	for _, m := range p.models {
		if assetProduct == m {
			return "vendor equal, product equals model " + m, true
		}
	}
	contains := func(a, b string) bool { return len(b) >= minContained && strings.Contains(a, b) }
	if contains(p.product, assetProduct) || contains(assetProduct, p.product) {
		return "vendor equal, product names contain one another", false
	}
	for _, m := range p.models {
		if contains(assetProduct, m) || contains(m, assetProduct) {
			return "vendor equal, model " + m + " and product contain one another", false
		}
	}
	return "", false
}

// versionFits checks the asset's version against the statement's range.
// conf is the confidence of the name match; a free-text range lowers it
// to low.
func (p *product) versionFits(vs string, v version.Version, ok bool, conf bulwark.Confidence, what string) prodResult {
	if p.all {
		return prodResult{triTrue, conf, what + ", all versions"}
	}
	if p.rangeErr != "" {
		return prodResult{triUnknown, bulwark.ConfidenceUnknown, what + ": version could not be compared: range did not parse: " + p.rangeErr}
	}
	if !ok {
		return prodResult{triUnknown, bulwark.ConfidenceUnknown, what + ": version could not be compared: asset version " + quoteOrNone(vs)}
	}
	in, cmp := p.rng.Contains(v)
	if !cmp {
		return prodResult{triUnknown, bulwark.ConfidenceUnknown, what + ": version could not be compared: " + vs + " against " + p.rng.String()}
	}
	if !in {
		return prodResult{triFalse, "", what + ": version " + vs + " outside " + p.rng.String()}
	}
	if !p.rng.Exact() && conf != bulwark.ConfidenceUnknown {
		conf = bulwark.ConfidenceLow
	}
	return prodResult{triTrue, conf, what + ": version " + vs + " in " + p.rng.String()}
}

func quoteOrNone(s string) string {
	if s == "" {
		return "not given"
	}
	return fmt.Sprintf("%q", s)
}

func rank(c bulwark.Confidence) int {
	switch c {
	case bulwark.ConfidenceExact:
		return 4
	case bulwark.ConfidenceHigh:
		return 3
	case bulwark.ConfidenceLow:
		return 2
	case bulwark.ConfidenceUnknown:
		return 1
	}
	return 0
}

// better reports whether r is a better outcome than best: a truer
// result, or as true with a higher confidence.
func better(r, best prodResult) bool {
	return r.match > best.match || (r.match == best.match && r.match != triFalse && rank(r.conf) > rank(best.conf))
}

// evalProducts evaluates every product statement of vulnerability vi
// against profile pr. For each identifier of the asset (its own
// vendor/product/version, each CPE, each PURL) it takes the best affected
// statement that matched, unless a fixed or not-affected statement matches
// the same identifier with its version; the best identifier wins.
// Statements under investigation are not findings. When explain is not
// nil it receives each statement's outcomes.
func (ix *Index) evalProducts(inv *Inventory, vi int32, pr *profile, explain func(p *product, id int, r prodResult)) (tri, bulwark.Confidence, string) {
	type perIdent struct {
		id         int
		best       prodResult
		text       string
		suppressed string
	}
	var ids []perIdent
	get := func(id int) *perIdent {
		for i := range ids {
			if ids[i].id == id {
				return &ids[i]
			}
		}
		ids = append(ids, perIdent{id: id})
		return &ids[len(ids)-1]
	}
	v := &ix.vulns[vi]
	for pi := v.prodStart; pi < v.prodEnd; pi++ {
		p := &ix.products[pi]
		ix.evalProduct(inv, p, pr, func(id int, r prodResult) {
			if explain != nil {
				explain(p, id, r)
			}
			if r.match == triFalse {
				return
			}
			e := get(id)
			switch p.status {
			case bulwark.StatusAffected:
				if better(r, e.best) || !better(e.best, r) && p.text+r.reason < e.text+e.best.reason {
					e.best, e.text = r, p.text
				}
			case bulwark.StatusFixed, bulwark.StatusNotAffected:
				if r.match == triTrue && e.suppressed == "" {
					e.suppressed = p.text + ": " + r.reason
				}
			}
		})
	}
	var best perIdent
	suppressed := ""
	for _, e := range ids {
		if e.best.match == triFalse {
			continue
		}
		if e.suppressed != "" {
			if suppressed == "" {
				suppressed = "suppressed by " + e.suppressed
			}
			continue
		}
		// Among equally good identifiers the evidence that sorts first,
		// so that the result does not depend on the inventory's order.
		if better(e.best, best.best) || !better(best.best, e.best) && e.text+e.best.reason < best.text+best.best.reason {
			best = e
		}
	}
	if best.best.match == triFalse {
		return triFalse, "", suppressed
	}
	return best.best.match, best.best.conf, best.text + " matched " + best.best.reason
}
