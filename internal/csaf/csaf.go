// Package csaf reads CSAF 2.0 security advisories and CSAF VEX documents
// (OASIS Common Security Advisory Framework) into Bulwark's vulnerability
// domain: one bulwark.Vulnerability per vulnerabilities[] entry, with the
// advisory's product tree flattened into one bulwark.AffectedProduct per
// product and status.
//
// Decoding is strict on purpose. Advisories come from many publishers and
// are matched against a city's inventory, so a document that two readers
// could understand differently (a duplicate member, "Product_Tree" beside
// or instead of "product_tree") is rejected rather than guessed at, and
// size and nesting are capped before anything is allocated for them.
// Errors are *bulwark.Error values whose Details name the file, the
// line and column, and the JSON pointer of the offending member.
//
// Version ranges (product_version_range branches) are kept as the raw text
// the publisher wrote; parsing them is another package's job.
package csaf

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/go-json-experiment/json"

	"bulwark"
	"bulwark/internal/jsonptr"
)

// Default limits. The largest CISA advisory is about 0.6 MiB and no
// advisory nests deeper than about 15 levels, so both leave ample room.
const (
	DefaultMaxBytes = 32 << 20
	DefaultMaxDepth = 64
)

// Options tune Parse and Read. The zero value means the defaults.
type Options struct {
	MaxBytes  int64     // largest document accepted, in bytes (after gunzip)
	MaxDepth  int       // deepest nesting of JSON objects and arrays accepted
	FetchedAt time.Time // recorded in each vulnerability's provenance
}

func (o Options) withDefaults() Options {
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.MaxDepth <= 0 {
		o.MaxDepth = DefaultMaxDepth
	}
	return o
}

// Advisory is one CSAF document as Bulwark uses it.
type Advisory struct {
	ID                 string // document.tracking.id, e.g. ICSA-24-123-01
	Title              string
	Category           string // csaf_security_advisory, csaf_vex, csaf_base, ...
	Publisher          string // document.publisher.name
	PublisherNamespace string // document.publisher.namespace, a URL
	TLP                string // distribution.tlp.label (WHITE, CLEAR, ...)
	Initial            time.Time
	Current            time.Time // tracking.current_release_date
	Version            string    // tracking.version

	// Products are the flattened product tree by product_id.
	Products map[string]Product
	Vulns    []bulwark.Vulnerability

	// Warnings are problems that do not stop the advisory from being
	// used, such as a product_status naming a product_id that the tree
	// does not define.
	Warnings []bulwark.Problem
}

// Product is one product of the flattened product tree: a full_product_name
// with what its branch path says about it, or the product a relationship
// defines.
type Product struct {
	ID       string
	FullName string // full_product_name.name
	Vendor   string // the vendor branch
	Family   string // the product_family branch, if any
	Name     string // the product_name branch, else family, else FullName
	Version  string // a product_version branch
	Range    string // a product_version_range branch, raw text
	Models   []string
	CPE      string
	PURL     string

	// Relationship, Platform and PlatformName are set for the products a
	// relationship defines: the identity fields above are those of the
	// component (product_reference), Platform is the product_id it
	// relates to (relates_to_product_reference) and Relationship its
	// category (default_component_of, installed_on, ...).
	Relationship string
	Platform     string
	PlatformName string
}

// Read reads one advisory from r, refusing more than opts.MaxBytes. A
// gzip-compressed stream (as the CISA repository serves) is decompressed
// first; the cap then applies to the decompressed bytes.
func Read(name string, r io.Reader, opts Options) (*Advisory, error) {
	opts = opts.withDefaults()
	br := bufio.NewReader(r)
	if magic, err := br.Peek(2); err == nil && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, invalid(bulwark.Problem{File: name, Message: "bad gzip header: " + err.Error()})
		}
		defer zr.Close()
		r = zr
	} else {
		r = br
	}
	data, err := io.ReadAll(io.LimitReader(r, opts.MaxBytes+1))
	if err != nil {
		return nil, &bulwark.Error{Code: bulwark.EINVALID, Message: "cannot read CSAF document",
			Details: []bulwark.Problem{{File: name, Message: err.Error()}}}
	}
	return Parse(name, data, opts)
}

// Parse reads one advisory from data. name is the file name used in
// errors and provenance.
func Parse(name string, data []byte, opts Options) (*Advisory, error) {
	opts = opts.withDefaults()
	if int64(len(data)) > opts.MaxBytes {
		return nil, &bulwark.Error{Code: bulwark.ETOOLARGE, Message: "CSAF document too large",
			Details: []bulwark.Problem{{File: name, Message: fmt.Sprintf("more than %d bytes", opts.MaxBytes)}}}
	}
	if isGzip(data) {
		return nil, invalid(bulwark.Problem{File: name, Message: "document is gzip-compressed; decompress it first (Read does)"})
	}
	if err := checkStrict(name, data, opts.MaxDepth); err != nil {
		return nil, err
	}
	var doc document
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, semanticError(name, data, err)
	}
	return convert(name, data, &doc, opts)
}

// semanticError locates a decoding error (a string where a list belongs,
// and so on) by its JSON pointer.
func semanticError(file string, data []byte, err error) error {
	p := bulwark.Problem{File: file, Message: err.Error()}
	var se *json.SemanticError
	if errors.As(err, &se) {
		p.Field = string(se.JSONPointer)
		p.Line, p.Column = position(data, se.ByteOffset)
		switch {
		case se.JSONKind != 0 && se.GoType != nil:
			p.Message = fmt.Sprintf("unexpected JSON %s where %s belongs", jsonptr.KindName(se.JSONKind), goKindName(se.GoType))
		case se.Err != nil:
			p.Message = se.Err.Error()
		}
	}
	return invalid(p)
}

// goKindName names the JSON kind a Go type decodes from, so that errors do
// not show this package's type names.
func goKindName(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Float32, reflect.Float64, reflect.Int, reflect.Int64:
		return "a number"
	}
	return "another kind"
}

// checkRequired rejects a document missing a member without which it is not an advisory
// Bulwark can file: the ID names it everywhere and the release date orders
// re-imports.
func checkRequired(name string, doc *document) error {
	var missing []bulwark.Problem
	need := func(v, ptr string) {
		if strings.TrimSpace(v) == "" {
			missing = append(missing, bulwark.Problem{File: name, Field: ptr, Message: "required member missing or empty"})
		}
	}
	need(doc.Document.Category, "/document/category")
	need(doc.Document.CSAFVersion, "/document/csaf_version")
	need(doc.Document.Tracking.ID, "/document/tracking/id")
	need(doc.Document.Tracking.CurrentReleaseDate, "/document/tracking/current_release_date")
	if len(missing) == 4 {
		return &bulwark.Error{Code: bulwark.EINVALID, Message: "not a CSAF document",
			Details: []bulwark.Problem{{File: name, Field: "/document", Message: "no CSAF document metadata (category, csaf_version, tracking)"}}}
	}
	if len(missing) > 0 {
		return &bulwark.Error{Code: bulwark.EINVALID, Message: "invalid CSAF document", Details: missing}
	}
	if v := doc.Document.CSAFVersion; v != "2.0" && v != "2.1" {
		return &bulwark.Error{Code: bulwark.EUNSUPPORTED, Message: "unsupported CSAF version",
			Details: []bulwark.Problem{{File: name, Field: "/document/csaf_version", Message: fmt.Sprintf("version %q; Bulwark reads 2.0 and 2.1", v)}}}
	}
	return nil
}

func convert(name string, data []byte, doc *document, opts Options) (*Advisory, error) {
	if err := checkRequired(name, doc); err != nil {
		return nil, err
	}
	d := &doc.Document
	a := &Advisory{
		ID:                 d.Tracking.ID,
		Title:              d.Title,
		Category:           d.Category,
		Publisher:          d.Publisher.Name,
		PublisherNamespace: d.Publisher.Namespace,
		Version:            d.Tracking.Version,
	}
	if d.Distribution != nil && d.Distribution.TLP != nil {
		a.TLP = d.Distribution.TLP.Label
	}
	var err error
	if a.Current, err = parseTime(d.Tracking.CurrentReleaseDate); err != nil {
		return nil, invalid(bulwark.Problem{File: name, Field: "/document/tracking/current_release_date", Message: err.Error()})
	}
	if d.Tracking.InitialReleaseDate != "" {
		if a.Initial, err = parseTime(d.Tracking.InitialReleaseDate); err != nil {
			a.warn(name, "/document/tracking/initial_release_date", err.Error())
		}
	}

	groups := map[string][]string{}
	a.Products = map[string]Product{}
	if pt := doc.ProductTree; pt != nil {
		for i := range pt.Branches {
			a.walkBranch(name, fmt.Sprintf("/product_tree/branches/%d", i), &pt.Branches[i], Product{})
		}
		for i, fpn := range pt.FullProductNames {
			a.addProduct(name, fmt.Sprintf("/product_tree/full_product_names/%d", i), fpn, Product{})
		}
		a.addRelationships(name, pt.Relationships)
		for _, g := range pt.ProductGroups {
			groups[g.GroupID] = g.ProductIDs
		}
	}

	sum := sha256.Sum256(data)
	prov := bulwark.Provenance{
		Source:    "csaf:" + namespaceHost(d.Publisher.Namespace),
		Document:  name,
		FetchedAt: opts.FetchedAt,
		Modified:  a.Current,
		Hash:      hex.EncodeToString(sum[:]),
	}
	for i := range doc.Vulnerabilities {
		a.Vulns = append(a.Vulns, a.vulnerability(name, i, &doc.Vulnerabilities[i], groups, prov))
	}
	return a, nil
}

// maxWarnings bounds Warnings: a hostile document could otherwise name a
// million undefined products and get a million warnings back.
const maxWarnings = 100

func (a *Advisory) warn(file, field, msg string) {
	switch n := len(a.Warnings); {
	case n < maxWarnings:
		a.Warnings = append(a.Warnings, bulwark.Problem{File: file, Field: field, Message: msg})
	case n == maxWarnings:
		a.Warnings = append(a.Warnings, bulwark.Problem{File: file, Message: fmt.Sprintf("more than %d warnings; the rest are not listed", maxWarnings)})
	}
}

// parseTime reads a CSAF date-time (RFC 3339; CISA writes milliseconds).
func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("date-time %q is not RFC 3339", s)
	}
	return t.UTC(), nil
}

// namespaceHost is the host of the publisher namespace URL
// ("https://www.cisa.gov/" → "www.cisa.gov"), or the namespace as given
// when it is not a URL.
func namespaceHost(ns string) string {
	if u, err := url.Parse(ns); err == nil && u.Host != "" {
		return strings.ToLower(u.Host)
	}
	return ns
}

// walkBranch descends one branch, carrying what the path above says about
// the products below it.
func (a *Advisory) walkBranch(file, ptr string, b *branch, ctx Product) {
	switch b.Category {
	case "vendor":
		ctx.Vendor = b.Name
	case "product_family":
		ctx.Family = b.Name
	case "product_name":
		ctx.Name = b.Name
	case "product_version":
		ctx.Version = b.Name
	case "product_version_range":
		ctx.Range = b.Name
	}
	if b.Product != nil {
		a.addProduct(file, ptr+"/product", *b.Product, ctx)
	}
	for i := range b.Branches {
		a.walkBranch(file, fmt.Sprintf("%s/branches/%d", ptr, i), &b.Branches[i], ctx)
	}
}

// addProduct records a full_product_name with the context of its path.
func (a *Advisory) addProduct(file, ptr string, fpn fullProductName, ctx Product) {
	if fpn.ProductID == "" {
		a.warn(file, ptr+"/product_id", "product without product_id ignored")
		return
	}
	if _, dup := a.Products[fpn.ProductID]; dup {
		a.warn(file, ptr+"/product_id", fmt.Sprintf("product_id %q defined twice; the first definition is kept", fpn.ProductID))
		return
	}
	p := ctx
	p.ID = fpn.ProductID
	p.FullName = fpn.Name
	if p.Name == "" {
		p.Name = p.Family
	}
	if p.Name == "" {
		p.Name = fpn.Name
	}
	if h := fpn.Helper; h != nil {
		p.Models = append([]string(nil), h.ModelNumbers...)
		p.CPE = h.CPE
		p.PURL = h.PURL
		if p.PURL == "" && len(h.PURLs) > 0 {
			p.PURL = h.PURLs[0]
		}
	}
	a.Products[p.ID] = p
}

// maxRelationshipChain bounds how many relationships may stack on one
// another (a library in a firmware installed on a device is three). A
// longer chain is almost certainly hostile and is dropped with a warning.
const maxRelationshipChain = 16

// addRelationships defines the combined products of relationships. A
// relationship may name a product that another relationship defines, in
// any order, so each is resolved on demand with a bounded chain.
func (a *Advisory) addRelationships(file string, rels []relationship) {
	byID := make(map[string]int, len(rels))
	for i, r := range rels {
		if _, ok := byID[r.FullProductName.ProductID]; !ok {
			byID[r.FullProductName.ProductID] = i
		}
	}
	const (
		todo = iota
		active
		done
	)
	state := make([]int8, len(rels))
	var resolve func(i, depth int)
	resolve = func(i, depth int) {
		if state[i] != todo {
			if state[i] == active {
				a.warn(file, fmt.Sprintf("/product_tree/relationships/%d", i), "relationships refer to each other in a cycle")
			}
			return
		}
		r := rels[i]
		ptr := fmt.Sprintf("/product_tree/relationships/%d", i)
		if depth > maxRelationshipChain {
			a.warn(file, ptr, fmt.Sprintf("relationship chain longer than %d ignored", maxRelationshipChain))
			state[i] = done
			return
		}
		state[i] = active
		for _, ref := range []string{r.ProductReference, r.RelatesToProductReference} {
			if _, ok := a.Products[ref]; !ok {
				if j, ok := byID[ref]; ok && j != i {
					resolve(j, depth+1)
				}
			}
		}
		state[i] = done
		comp, ok := a.Products[r.ProductReference]
		if !ok {
			a.warn(file, ptr+"/product_reference", fmt.Sprintf("product_id %q is not defined; relationship ignored", r.ProductReference))
			return
		}
		id := r.FullProductName.ProductID
		if id == "" {
			a.warn(file, ptr+"/full_product_name/product_id", "relationship without product_id ignored")
			return
		}
		if _, dup := a.Products[id]; dup {
			a.warn(file, ptr+"/full_product_name/product_id", fmt.Sprintf("product_id %q defined twice; the first definition is kept", id))
			return
		}
		p := comp
		p.ID = id
		p.FullName = r.FullProductName.Name
		p.Relationship = r.Category
		p.Platform = r.RelatesToProductReference
		if plat, ok := a.Products[p.Platform]; ok {
			p.PlatformName = plat.FullName
		} else {
			a.warn(file, ptr+"/relates_to_product_reference", fmt.Sprintf("product_id %q is not defined", p.Platform))
		}
		// The relationship's own helper, if any, is more specific than
		// the component's.
		if h := r.FullProductName.Helper; h != nil {
			if len(h.ModelNumbers) > 0 {
				p.Models = append([]string(nil), h.ModelNumbers...)
			}
			if h.CPE != "" {
				p.CPE = h.CPE
			}
			if h.PURL != "" {
				p.PURL = h.PURL
			} else if len(h.PURLs) > 0 {
				p.PURL = h.PURLs[0]
			}
		}
		a.Products[id] = p
	}
	for i := range rels {
		resolve(i, 0)
	}
}

// statusLists are the product_status lists in the order they are emitted,
// with the status each maps to. "recommended" is not a status of the
// product with respect to the vulnerability and is left out.
func statusLists(ps *productStatus) []struct {
	member string
	ids    []string
	status bulwark.ProductStatus
} {
	return []struct {
		member string
		ids    []string
		status bulwark.ProductStatus
	}{
		{"known_affected", ps.KnownAffected, bulwark.StatusAffected},
		{"first_affected", ps.FirstAffected, bulwark.StatusAffected},
		{"last_affected", ps.LastAffected, bulwark.StatusAffected},
		{"fixed", ps.Fixed, bulwark.StatusFixed},
		{"first_fixed", ps.FirstFixed, bulwark.StatusFixed},
		{"known_not_affected", ps.KnownNotAffected, bulwark.StatusNotAffected},
		{"under_investigation", ps.UnderInvestigation, bulwark.StatusUnderInvestigate},
	}
}

func (a *Advisory) vulnerability(file string, i int, v *vulnerability, groups map[string][]string, prov bulwark.Provenance) bulwark.Vulnerability {
	ptr := fmt.Sprintf("/vulnerabilities/%d", i)
	out := bulwark.Vulnerability{ID: v.CVE, Modified: a.Current, Published: a.Initial}
	if out.ID == "" {
		// The advisory's own ID and the vulnerability's index; characters
		// Bulwark IDs do not allow (they appear in URLs) become '-'.
		out.ID = fmt.Sprintf("%s:%d", idSafe(a.ID), i)
	}
	if v.ReleaseDate != "" {
		if t, err := parseTime(v.ReleaseDate); err == nil {
			out.Published = t
		} else {
			a.warn(file, ptr+"/release_date", err.Error())
		}
	}
	seenAlias := map[string]bool{out.ID: true}
	for _, id := range v.IDs {
		if id.Text != "" && !seenAlias[id.Text] {
			seenAlias[id.Text] = true
			out.Aliases = append(out.Aliases, id.Text)
		}
	}
	out.Description = noteText(v.Notes, "description")
	if out.Description == "" {
		out.Description = noteText(v.Notes, "summary")
	}
	if out.Description == "" {
		out.Description = v.Title
	}
	if v.CWE != nil && v.CWE.ID != "" {
		out.CWEs = append(out.CWEs, v.CWE.ID)
	}
	for _, c := range v.CWEs {
		if c.ID != "" && !slices.Contains(out.CWEs, c.ID) {
			out.CWEs = append(out.CWEs, c.ID)
		}
	}
	for _, s := range v.Scores {
		for _, c := range []*cvss{s.CVSSv2, s.CVSSv3, s.CVSSv4} {
			if c == nil || c.VectorString == "" {
				continue
			}
			out.CVSS = append(out.CVSS, bulwark.CVSS{Version: c.Version, Vector: c.VectorString, BaseScore: c.BaseScore, Source: a.Publisher})
		}
	}
	for _, r := range v.References {
		if r.URL == "" {
			continue
		}
		ref := bulwark.Reference{URL: r.URL}
		if r.Category != "" {
			ref.Tags = []string{r.Category}
		}
		out.References = append(out.References, ref)
	}
	for j, r := range v.Remediations {
		rem := bulwark.Remediation{Category: r.Category, Details: r.Details, URL: r.URL, Source: a.ID}
		inRem := map[string]bool{}
		add := func(id string) {
			if !inRem[id] {
				inRem[id] = true
				rem.Products = append(rem.Products, id)
			}
		}
		for _, id := range r.ProductIDs {
			add(id)
		}
		for _, g := range r.GroupIDs {
			ids, ok := groups[g]
			if !ok {
				a.warn(file, fmt.Sprintf("%s/remediations/%d/group_ids", ptr, j), fmt.Sprintf("product group %q is not defined", g))
			}
			for _, id := range ids {
				add(id)
			}
		}
		out.Remediations = append(out.Remediations, rem)
	}
	if v.ProductStatus != nil {
		seen := map[string]bool{}
		for _, l := range statusLists(v.ProductStatus) {
			for j, id := range l.ids {
				key := string(l.status) + "\x00" + id
				if seen[key] {
					continue
				}
				seen[key] = true
				ap := bulwark.AffectedProduct{Status: l.status, ProductID: id, Source: a.ID}
				if p, ok := a.Products[id]; ok {
					ap.Vendor, ap.Product, ap.CPE, ap.PURL = p.Vendor, p.Name, p.CPE, p.PURL
					ap.Version, ap.Range = p.Version, p.Range
					ap.Models = append([]string(nil), p.Models...)
				} else {
					a.warn(file, fmt.Sprintf("%s/product_status/%s/%d", ptr, l.member, j), fmt.Sprintf("product_id %q is not defined in the product tree", id))
				}
				out.Affected = append(out.Affected, ap)
			}
		}
	}
	out.Sources = []bulwark.Provenance{prov}
	return out
}

func noteText(notes []note, category string) string {
	for _, n := range notes {
		if n.Category == category && strings.TrimSpace(n.Text) != "" {
			return n.Text
		}
	}
	return ""
}

// isGzip reports whether data starts with the gzip magic number.
func isGzip(data []byte) bool { return bytes.HasPrefix(data, []byte{0x1f, 0x8b}) }

// idSafe maps s onto the characters bulwark.ValidID accepts.
func idSafe(s string) string {
	b := []byte(s)
	for i, c := range b {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case i > 0 && (c == '.' || c == '_' || c == ':' || c == '-'):
		default:
			b[i] = '-'
		}
	}
	if len(b) > 100 {
		b = b[:100]
	}
	return string(b)
}
