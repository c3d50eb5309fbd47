package citymodel

import (
	"bufio"
	"cmp"
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"bulwark"
)

// Encoder writes city model YAML, one document per Encode call, in the
// canonical layout of the format: fields in the documented order, values
// equal to their default left out, durations in canonical form, redundancy
// groups sorted by id and dependencies by group then target. The same input
// always gives the same bytes. Entities are written in the order given.
type Encoder struct {
	w    *bufio.Writer
	docs int
	err  error
}

// NewEncoder returns an Encoder writing to w. Call Close to flush.
func NewEncoder(w io.Writer) *Encoder {
	return &Encoder{w: bufio.NewWriterSize(w, 64<<10)}
}

// Encode writes chunk as one YAML document starting with "---". The first
// document also carries "version: 1".
func (e *Encoder) Encode(chunk *bulwark.City) error {
	if e.err != nil {
		return e.err
	}
	w := e.w
	w.WriteString("---\n")
	if e.docs == 0 {
		w.WriteString("version: 1\n")
	}
	e.docs++
	if len(chunk.Organizations) > 0 {
		w.WriteString("organizations:\n")
		for i := range chunk.Organizations {
			writeOrg(w, &chunk.Organizations[i])
		}
	}
	if len(chunk.Services) > 0 {
		w.WriteString("services:\n")
		for i := range chunk.Services {
			writeService(w, &chunk.Services[i])
		}
	}
	if len(chunk.Systems) > 0 {
		w.WriteString("systems:\n")
		for i := range chunk.Systems {
			writeSystem(w, &chunk.Systems[i])
		}
	}
	if len(chunk.Assets) > 0 {
		w.WriteString("assets:\n")
		for i := range chunk.Assets {
			writeAsset(w, &chunk.Assets[i])
		}
	}
	if w.Buffered() > 32<<10 {
		e.err = w.Flush()
	}
	return e.err
}

// Close flushes what is buffered. It does not close the underlying writer.
func (e *Encoder) Close() error {
	if e.err != nil {
		return e.err
	}
	e.err = e.w.Flush()
	return e.err
}

// field writes "    key: value" when value is not empty.
func field(w *bufio.Writer, first bool, key, value string) {
	if value == "" {
		return
	}
	if first {
		w.WriteString("  - ")
	} else {
		w.WriteString("    ")
	}
	w.WriteString(key)
	w.WriteString(": ")
	w.WriteString(value)
	w.WriteByte('\n')
}

// flow renders a flow mapping of the non-empty pairs, or "".
func flow(pairs ...string) string {
	var b strings.Builder
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] == "" {
			continue
		}
		if b.Len() == 0 {
			b.WriteByte('{')
		} else {
			b.WriteString(", ")
		}
		b.WriteString(pairs[i])
		b.WriteString(": ")
		b.WriteString(pairs[i+1])
	}
	if b.Len() == 0 {
		return ""
	}
	b.WriteByte('}')
	return b.String()
}

func list(w *bufio.Writer, key string, items []string) {
	if len(items) == 0 {
		return
	}
	w.WriteString("    " + key + ":\n")
	for _, it := range items {
		w.WriteString("      - ")
		w.WriteString(it)
		w.WriteByte('\n')
	}
}

func dur(d time.Duration) string {
	if d <= 0 {
		return ""
	}
	return formatDuration(d)
}

func num(n int64) string {
	if n == 0 {
		return ""
	}
	return strconv.FormatInt(n, 10)
}

func writeOrg(w *bufio.Writer, o *bulwark.Organization) {
	field(w, true, "id", quote(o.ID))
	field(w, false, "name", quote(o.Name))
	field(w, false, "purview", quote(string(o.Purview)))
	var contacts []string
	for _, c := range o.Contacts {
		contacts = append(contacts, flow("name", quote(c.Name), "role", quote(c.Role), "email", quote(c.Email), "phone", quote(c.Phone)))
	}
	list(w, "contacts", contacts)
	if len(o.SharesWith) > 0 {
		ids := slices.Sorted(slices.Values(o.SharesWith))
		for i := range ids {
			ids[i] = quote(ids[i])
		}
		field(w, false, "shares_with", "["+strings.Join(ids, ", ")+"]")
	}
}

func writeGroups(w *bufio.Writer, groups []bulwark.Group) {
	gs := slices.SortedFunc(slices.Values(groups), func(a, b bulwark.Group) int { return strings.Compare(a.ID, b.ID) })
	var items []string
	for _, g := range gs {
		items = append(items, flow("id", quote(g.ID), "need", strconv.Itoa(g.Need)))
	}
	list(w, "groups", items)
}

func writeDeps(w *bufio.Writer, deps []bulwark.Dependency) {
	ds := slices.SortedFunc(slices.Values(deps), func(a, b bulwark.Dependency) int {
		return cmp.Or(strings.Compare(a.Group, b.Group), strings.Compare(a.On, b.On))
	})
	var items []string
	for _, d := range ds {
		items = append(items, flow("on", quote(d.On), "kind", depKind(d.Kind), "group", quote(d.Group)))
	}
	list(w, "depends_on", items)
}

// depKind renders a dependency kind, leaving out the default (hard).
func depKind(k bulwark.DepKind) string {
	if k == bulwark.Hard || k == "" {
		return ""
	}
	return quote(string(k))
}

func level(l bulwark.Level) string {
	if l == bulwark.LevelNone {
		return ""
	}
	return l.String()
}

func writeService(w *bufio.Writer, s *bulwark.Service) {
	field(w, true, "id", quote(s.ID))
	field(w, false, "name", quote(s.Name))
	field(w, false, "description", quote(s.Description))
	field(w, false, "owner", quote(s.Owner))
	field(w, false, "sector", quote(string(s.Sector)))
	field(w, false, "population", num(s.Population))
	field(w, false, "category", flow("confidentiality", level(s.Category.Confidentiality), "integrity", level(s.Category.Integrity), "availability", level(s.Category.Availability)))
	field(w, false, "targets", flow("max_tolerable_downtime", dur(s.Targets.MaxTolerableDowntime), "rto", dur(s.Targets.RTO), "rpo", dur(s.Targets.RPO)))
	writeGroups(w, s.Groups)
	writeDeps(w, s.DependsOn)
}

func writeSystem(w *bufio.Writer, s *bulwark.System) {
	field(w, true, "id", quote(s.ID))
	field(w, false, "name", quote(s.Name))
	field(w, false, "description", quote(s.Description))
	field(w, false, "owner", quote(s.Owner))
	field(w, false, "zone", quote(s.Zone))
	if s.InternetExposed {
		field(w, false, "internet_exposed", "true")
	}
	r := s.Recovery
	tested := ""
	if r.Tested {
		tested = "true"
	}
	field(w, false, "recovery", flow("restore_time", dur(r.RestoreTime), "restore_time_no_backups", dur(r.RestoreTimeNoBackups),
		"crew_skill", quote(r.CrewSkill), "tested", tested, "last_tested", quote(r.LastTested)))
	writeGroups(w, s.Groups)
	writeDeps(w, s.DependsOn)
}

func writeAsset(w *bufio.Writer, a *bulwark.Asset) {
	field(w, true, "id", quote(a.ID))
	field(w, false, "name", quote(a.Name))
	field(w, false, "owner", quote(a.Owner))
	field(w, false, "kind", quote(a.Kind))
	field(w, false, "vendor", quote(a.Vendor))
	field(w, false, "product", quote(a.Product))
	field(w, false, "version", quote(a.Version))
	quoted := func(in []string) []string {
		out := make([]string, len(in))
		for i, s := range in {
			out[i] = quote(s)
		}
		return out
	}
	list(w, "cpe", quoted(a.CPEs))
	list(w, "purl", quoted(a.PURLs))
	var lat, lon string
	if a.Location.Lat != 0 || a.Location.Lon != 0 {
		lat = strconv.FormatFloat(a.Location.Lat, 'f', -1, 64)
		lon = strconv.FormatFloat(a.Location.Lon, 'f', -1, 64)
	}
	field(w, false, "location", flow("site", quote(a.Location.Site), "lat", lat, "lon", lon))
	if a.Count > 1 {
		field(w, false, "count", num(a.Count))
	}
	if a.System != "" {
		field(w, false, "system", quote(a.System))
		field(w, false, "dependency", depKind(a.SystemDependency))
		field(w, false, "group", quote(a.SystemGroup))
	}
	writeDeps(w, a.DependsOn)
}

// quote renders s as a YAML scalar that reads back as the string s: plain
// when that is unambiguous, else double-quoted. Plain scalars are limited to
// a conservative alphabet, so that no YAML reader (1.1 or 1.2, block or
// flow context) takes them for a number, boolean, null, date or syntax.
func quote(s string) string {
	if s == "" {
		return ""
	}
	if plainOK(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\t':
			b.WriteString(`\t`)
		case '\r':
			b.WriteString(`\r`)
		default:
			switch {
			case r < 0x20 || r == 0x7f:
				fmt.Fprintf(&b, `\x%02x`, r)
			case r >= 0x80 && (!unicode.IsPrint(r) || r == 0xfeff):
				if r <= 0xffff {
					fmt.Fprintf(&b, `\u%04x`, r)
				} else {
					fmt.Fprintf(&b, `\U%08x`, r)
				}
			default:
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}

var reserved = map[string]bool{"true": true, "false": true, "yes": true, "no": true, "on": true, "off": true, "y": true, "n": true, "null": true}

func plainOK(s string) bool {
	if !utf8.ValidString(s) || reserved[strings.ToLower(s)] {
		return false
	}
	first, _ := utf8.DecodeRuneInString(s)
	if !unicode.IsLetter(first) && !(first >= '0' && first <= '9') && first != '/' {
		return false
	}
	if s[len(s)-1] == ' ' || s[len(s)-1] == ':' {
		return false
	}
	letters := false
	for i, r := range s {
		switch {
		case unicode.IsLetter(r):
			letters = true
		case r >= '0' && r <= '9':
		case r < 0x80 && strings.ContainsRune(" ._-/:@+()*\\~=;'&!%$^|<>", r):
			if r == ':' && i+1 < len(s) && s[i+1] == ' ' {
				return false
			}
		default:
			return false
		}
	}
	if !letters && first >= '0' && first <= '9' {
		return false // 4.5, 2026-05-01, 1_000, 12:30
	}
	if first >= '0' && first <= '9' {
		// Numbers with letters: 1e5, 0x1F, 0o17, 0b1, .inf never
		// start with a digit and letters... except these.
		if _, err := strconv.ParseFloat(s, 64); err == nil {
			return false
		}
		if _, err := strconv.ParseInt(s, 0, 64); err == nil {
			return false
		}
	}
	return true
}

// Export writes every organization, service, system and asset visible to
// the caller of ctx as city model YAML: byte-stable (each kind sorted by id,
// in pages read from the store), documents of at most 1000 entities, assets
// starting a new document. Importing the output gives back the same state.
// The dependency of a system on an asset whose System is that system is
// written once, on the asset.
func Export(ctx context.Context, st bulwark.CityStore, w io.Writer) error {
	enc := NewEncoder(w)
	var chunk bulwark.City
	n := 0
	flush := func() error {
		if n == 0 {
			return nil
		}
		err := enc.Encode(&chunk)
		chunk, n = bulwark.City{}, 0
		return err
	}
	add := func() error {
		if n++; n >= batchSize {
			return flush()
		}
		return nil
	}
	err := pages(ctx, bulwark.ListOptions{}, st.ListOrganizations, func(o bulwark.Organization) error {
		chunk.Organizations = append(chunk.Organizations, o)
		return add()
	})
	if err != nil {
		return fmt.Errorf("export organizations: %w", err)
	}
	err = pages(ctx, bulwark.ListOptions{}, st.ListServices, func(s bulwark.Service) error {
		chunk.Services = append(chunk.Services, s)
		return add()
	})
	if err != nil {
		return fmt.Errorf("export services: %w", err)
	}
	err = pages(ctx, bulwark.ListOptions{}, st.ListSystems, func(s bulwark.System) error {
		deps, err := withoutOwnAssets(ctx, st, s)
		if err != nil {
			return err
		}
		s.DependsOn = deps
		chunk.Systems = append(chunk.Systems, s)
		return add()
	})
	if err != nil {
		return fmt.Errorf("export systems: %w", err)
	}
	if err := flush(); err != nil {
		return err
	}
	err = pages(ctx, bulwark.ListOptions{}, st.ListAssets, func(a bulwark.Asset) error {
		chunk.Assets = append(chunk.Assets, a)
		return add()
	})
	if err != nil {
		return fmt.Errorf("export assets: %w", err)
	}
	if err := flush(); err != nil {
		return err
	}
	if enc.docs == 0 {
		if err := enc.Encode(&bulwark.City{}); err != nil {
			return err
		}
	}
	return enc.Close()
}

// pages calls fn for every item of a listing, page by page.
func pages[T any](ctx context.Context, opt bulwark.ListOptions, list func(context.Context, bulwark.ListOptions) (bulwark.Page[T], error), fn func(T) error) error {
	opt.Limit = bulwark.MaxPageSize
	for {
		if err := ctx.Err(); err != nil {
			return &bulwark.Error{Code: bulwark.ECANCELED, Message: "export canceled"}
		}
		p, err := list(ctx, opt)
		if err != nil {
			return err
		}
		for _, it := range p.Items {
			if err := fn(it); err != nil {
				return err
			}
		}
		if p.Next == "" || len(p.Items) == 0 {
			return nil
		}
		opt.After = p.Next
	}
}

// withoutOwnAssets drops from s.DependsOn the edges to assets that name s as
// their system: those are written on the asset. Stores may or may not list
// them among the system's dependencies; either way the export is the same.
func withoutOwnAssets(ctx context.Context, st bulwark.CityStore, s bulwark.System) ([]bulwark.Dependency, error) {
	if len(s.DependsOn) == 0 {
		return nil, nil
	}
	own := map[string]bool{}
	err := pages(ctx, bulwark.ListOptions{System: s.ID}, st.ListAssets, func(a bulwark.Asset) error {
		if a.System == s.ID {
			own[a.ID] = true
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(own) == 0 {
		return s.DependsOn, nil
	}
	var out []bulwark.Dependency
	for _, d := range s.DependsOn {
		if !own[d.On] {
			out = append(out, d)
		}
	}
	return out, nil
}
