package citymodel

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"bulwark"
	"bulwark/internal/yamlerr"
)

// CSV caps: a header wider than this is not an asset inventory, and a
// record longer than this is refused before it is buffered whole.
const (
	maxCSVColumns = 256
	maxCSVRecord  = 1 << 20
)

// csvFields are the asset fields a CSV column can fill, in the order the
// documentation lists them.
var csvFields = []string{"id", "name", "owner", "kind", "vendor", "product", "version", "cpe", "purl", "site", "lat", "lon", "count", "system", "dependency", "group"}

// csvAliases maps normalized header names (see normHeader) to fields: the
// names cities' inventories commonly use.
var csvAliases = map[string]string{
	"id": "id", "asset_id": "id", "tag": "id", "asset_tag": "id",
	"name": "name", "description": "name", "asset_name": "name",
	"owner": "owner", "department": "owner", "dept": "owner", "organization": "owner", "org": "owner",
	"kind": "kind", "type": "kind", "category": "kind", "asset_type": "kind",
	"vendor": "vendor", "manufacturer": "vendor", "make": "vendor",
	"product": "product", "model": "product",
	"version": "version", "firmware": "version", "firmware_version": "version", "fw_version": "version",
	"cpe": "cpe", "cpes": "cpe",
	"purl": "purl", "purls": "purl",
	"site": "site", "location": "site",
	"lat": "lat", "latitude": "lat",
	"lon": "lon", "lng": "lon", "long": "lon", "longitude": "lon",
	"count": "count", "quantity": "count", "qty": "count",
	"system":     "system",
	"dependency": "dependency",
	"group":      "group",
}

// normHeader folds a header for matching: trimmed, lower case, spaces and
// hyphens as underscores ("Firmware Version" -> "firmware_version").
func normHeader(h string) string {
	h = strings.ToLower(strings.TrimSpace(h))
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' {
			return '_'
		}
		return r
	}, h)
}

// csvLimiter refuses a CSV record longer than max bytes as soon as it is
// seen, so that one huge line (or a quoted field that never ends) cannot
// make the CSV reader buffer gigabytes. It tracks quotes to know where
// records end: a newline outside quotes.
type csvLimiter struct {
	r       io.Reader
	name    string
	max     int
	n       int // bytes of the current record so far
	line    int // current line, 1-based
	start   int // line the current record started on
	inQuote bool
}

func (l *csvLimiter) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	for _, b := range p[:n] {
		switch b {
		case '"':
			l.inQuote = !l.inQuote
		case '\n':
			l.line++
			if !l.inQuote {
				l.n = 0
				l.start = l.line
				continue
			}
		}
		if l.n++; l.n > l.max {
			return 0, &bulwark.Error{Code: bulwark.ETOOLARGE,
				Message: fmt.Sprintf("%s: the CSV record starting at line %d is longer than %s; is this an asset inventory?", l.name, l.start, byteSize(int64(l.max))),
				Details: []bulwark.Problem{{File: l.name, Line: l.start, Message: "CSV record longer than " + byteSize(int64(l.max))}}}
		}
	}
	return n, err
}

// csvColumn is how one column maps.
type csvColumn struct {
	header string // as written
	field  string // "" when ignored
}

// readCSV reads a CSV asset inventory: a header row naming the columns,
// then one asset per row.
func (r *run) readCSV(ctx context.Context, i int, name string, rd io.Reader, c *checker, emit func(*bulwark.City) error) error {
	file := int32(i)
	at := func(line, col int) pos { return pos{file: file, line: int32(line), col: int32(col)} }
	br := bufio.NewReader(rd)
	if bom, _ := br.Peek(3); string(bom) == "\xef\xbb\xbf" {
		br.Discard(3)
	}
	cr := csv.NewReader(&csvLimiter{r: br, name: name, max: maxCSVRecord, line: 1, start: 1})
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true

	syntax := func(err error) error {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			r.p.add(at(pe.Line, pe.Column), "", "CSV syntax error: %v", pe.Err)
			return nil
		}
		return r.fatal(i, name, err)
	}
	header, err := cr.Read()
	if err == io.EOF {
		r.p.add(at(0, 0), "", "empty CSV file: the first line must be a header naming the columns")
		return nil
	}
	if err != nil {
		return syntax(err)
	}
	if len(header) > maxCSVColumns {
		r.p.add(at(1, 0), "", "CSV header has %d columns; at most %d are supported", len(header), maxCSVColumns)
		return nil
	}
	cols, ok := r.csvColumns(file, header)
	if !ok {
		return nil
	}
	chunk := &bulwark.City{}
	for {
		if err := ctx.Err(); err != nil {
			return &bulwark.Error{Code: bulwark.ECANCELED, Message: "import canceled"}
		}
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return syntax(err)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) != len(cols) {
			if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
				continue // blank line
			}
			r.p.add(at(line, 0), "", "row has %d cells but the header has %d columns", len(rec), len(cols))
			continue
		}
		if a, ok := r.csvAsset(file, cr, rec, cols, c); ok {
			chunk.Assets = append(chunk.Assets, a)
		}
		if len(chunk.Assets) >= batchSize {
			if err := emit(chunk); err != nil {
				return err
			}
			chunk = &bulwark.City{}
		}
	}
	if len(chunk.Assets) > 0 {
		return emit(chunk)
	}
	return nil
}

// csvColumns maps the header; it reports unknown, repeated and missing
// columns.
func (r *run) csvColumns(file int32, header []string) ([]csvColumn, bool) {
	cols := make([]csvColumn, len(header))
	ok := true
	byField := map[string]int{}
	for j, h := range header {
		cols[j].header = h
		n := normHeader(h)
		f, mapped := "", false
		for k, v := range r.csv.Columns {
			if normHeader(k) == n {
				f, mapped = v, true
			}
		}
		if !mapped {
			f, mapped = csvAliases[n]
		}
		switch {
		case f == "-" || (!mapped && r.csv.IgnoreUnknown):
			continue
		case !mapped:
			r.p.add(pos{file: file, line: 1, col: int32(j + 1)}, h, "unknown column %q; map it to an asset field (%s) or ignore it in the CSV mapping", yamlerr.Clip(h), strings.Join(csvFields, ", "))
			ok = false
			continue
		case !slices.Contains(csvFields, f):
			r.p.add(pos{file: file, line: 1, col: int32(j + 1)}, h, "the CSV mapping sends column %q to %q, which is not an asset field (%s)", yamlerr.Clip(h), f, strings.Join(csvFields, ", "))
			ok = false
			continue
		}
		if prev, dup := byField[f]; dup {
			r.p.add(pos{file: file, line: 1, col: int32(j + 1)}, h, "columns %q and %q both give the asset's %s", yamlerr.Clip(header[prev]), yamlerr.Clip(h), f)
			ok = false
			continue
		}
		byField[f] = j
		cols[j].field = f
	}
	for _, f := range []string{"id", "name", "owner"} {
		if _, have := byField[f]; !have && r.csv.Defaults[f] == "" {
			var names []string
			for k, v := range csvAliases {
				if v == f {
					names = append(names, k)
				}
			}
			slices.Sort(names)
			r.p.add(pos{file: file, line: 1}, "", "no column gives the asset's %s (a header named %s), and the CSV mapping has no default for it", f, strings.Join(names, ", "))
			ok = false
		}
	}
	return cols, ok
}

// splitList splits a cell holding several values separated by ; or |,
// leaving separators escaped with a backslash (as CPE names escape them).
func splitList(s string) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case ';', '|':
			out = append(out, strings.TrimSpace(s[start:i]))
			start = i + 1
		}
	}
	out = append(out, strings.TrimSpace(s[start:]))
	return slices.DeleteFunc(out, func(s string) bool { return s == "" })
}

// csvAsset turns one row into an asset, reporting each bad cell.
func (r *run) csvAsset(file int32, cr *csv.Reader, rec []string, cols []csvColumn, c *checker) (bulwark.Asset, bool) {
	a := bulwark.Asset{Count: 1}
	ok := true
	rowLine, _ := cr.FieldPos(0)
	var idAt, ownerAt, systemAt, groupAt pos
	var idField, ownerField, systemField, groupField string
	cell := func(f string) (string, pos, string) {
		for j, col := range cols {
			if col.field == f {
				line, _ := cr.FieldPos(j)
				v := strings.TrimSpace(rec[j])
				if v == "" {
					v = r.csv.Defaults[f]
				}
				return v, pos{file: file, line: int32(line), col: int32(j + 1)}, col.header
			}
		}
		return r.csv.Defaults[f], pos{file: file, line: int32(rowLine)}, f
	}
	bad := func(at pos, field, format string, args ...any) {
		r.p.add(at, field, format, args...)
		ok = false
	}
	hasSystem := cellValue(cols, rec, "system") != "" || r.csv.Defaults["system"] != ""
	for _, f := range csvFields {
		v, at, h := cell(f)
		if v == "" {
			if f == "id" || f == "name" || f == "owner" {
				bad(at, h, "missing required %s", f)
			}
			continue
		}
		text := func(max int) string {
			if why := checkText(v, max, false); why != "" {
				bad(at, h, "%s", why)
				return ""
			}
			return v
		}
		ident := func() string {
			if why := checkID(v); why != "" {
				bad(at, h, "%s", why)
				return ""
			}
			return v
		}
		switch f {
		case "id":
			a.ID, idAt, idField = ident(), at, h
		case "name":
			a.Name = text(maxText)
		case "owner":
			a.Owner, ownerAt, ownerField = ident(), at, h
		case "kind":
			a.Kind = text(maxText)
		case "vendor":
			a.Vendor = text(maxText)
		case "product":
			a.Product = text(maxText)
		case "version":
			a.Version = text(maxText)
		case "site":
			a.Location.Site = text(maxText)
		case "cpe", "purl":
			check, list := checkCPE, &a.CPEs
			if f == "purl" {
				check, list = checkPURL, &a.PURLs
			}
			for _, s := range splitList(v) {
				if why := check(s); why != "" {
					bad(at, h, "%s", why)
				} else if slices.Contains(*list, s) {
					bad(at, h, "%q is listed twice", yamlerr.Clip(s))
				} else {
					*list = append(*list, s)
				}
			}
		case "lat", "lon":
			lim := 90.0
			if f == "lon" {
				lim = 180
			}
			x, err := strconv.ParseFloat(v, 64)
			if err != nil || x < -lim || x > lim {
				bad(at, h, "want a number from %g to %g, got %q", -lim, lim, yamlerr.Clip(v))
			} else if f == "lat" {
				a.Location.Lat = x
			} else {
				a.Location.Lon = x
			}
		case "count":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 1 {
				bad(at, h, "want a whole number of at least 1, got %q", yamlerr.Clip(v))
			} else {
				a.Count = n
			}
		case "system":
			a.System, systemAt, systemField = ident(), at, h
		case "dependency":
			if v != "hard" && v != "soft" {
				bad(at, h, "invalid value %q: want one of hard, soft", yamlerr.Clip(v))
			} else {
				a.SystemDependency = bulwark.DepKind(v)
			}
			if !hasSystem {
				bad(at, h, "dependency is set but system is not; it says how the system depends on this asset")
			}
		case "group":
			a.SystemGroup, groupAt, groupField = ident(), at, h
			if !hasSystem {
				bad(at, h, "group is set but system is not; it names a redundancy group of the system")
			}
		}
	}
	if a.System != "" && a.SystemDependency == "" {
		a.SystemDependency = bulwark.Hard
	}
	if c != nil {
		if a.ID != "" {
			c.declare(kindAsset, a.ID, idAt, idField)
		}
		if a.Owner != "" {
			c.ref(a.Owner, kindOrg, ownerAt, ownerField, a.ID)
		}
		if a.System != "" {
			if a.System == a.ID {
				bad(systemAt, systemField, "%q cannot be part of itself", a.ID)
			} else {
				c.assetSystem(a.System, a.ID, a.SystemGroup, systemAt, systemField, groupAt, groupField)
			}
		}
	}
	return a, ok
}

// cellValue returns the trimmed cell of field f in rec, or "".
func cellValue(cols []csvColumn, rec []string, f string) string {
	for j, col := range cols {
		if col.field == f {
			return strings.TrimSpace(rec[j])
		}
	}
	return ""
}
