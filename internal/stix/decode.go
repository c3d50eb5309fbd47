package stix

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"bulwark"
	"bulwark/internal/jsonptr"
)

// Limits caps what one decode may consume. A zero field takes its default
// (DefaultLimits); the defaults admit the largest public bundles (MITRE
// ATT&CK Enterprise is about 50 MB and 25,000 objects) and nothing deeper or
// longer than STIX needs.
type Limits struct {
	// MaxBytes caps the whole input. Default 64 MiB.
	MaxBytes int64
	// MaxDepth caps nesting, counting the bundle as level 1 and each object
	// as level 2. Default 32.
	MaxDepth int
	// MaxObjects caps the objects of one bundle. Default 100,000.
	MaxObjects int
	// MaxStringBytes caps one string, member name or number. Default 1 MiB.
	MaxStringBytes int
	// MaxElements caps the members of one JSON object and the elements of
	// one array inside an object. Default 100,000.
	MaxElements int
	// MaxRejected caps the objects of one bundle that may be rejected
	// before the whole bundle is: a feed that is mostly garbage is not
	// imported piecemeal, and each rejection's report costs memory.
	// Default 1,000.
	MaxRejected int
}

// DefaultLimits returns the limits a zero Limits stands for.
func DefaultLimits() Limits {
	return Limits{MaxBytes: 64 << 20, MaxDepth: 32, MaxObjects: 100_000, MaxStringBytes: 1 << 20, MaxElements: 100_000, MaxRejected: 1000}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxBytes <= 0 {
		l.MaxBytes = d.MaxBytes
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = d.MaxDepth
	}
	if l.MaxObjects <= 0 {
		l.MaxObjects = d.MaxObjects
	}
	if l.MaxStringBytes <= 0 {
		l.MaxStringBytes = d.MaxStringBytes
	}
	if l.MaxElements <= 0 {
		l.MaxElements = d.MaxElements
	}
	if l.MaxRejected <= 0 {
		l.MaxRejected = d.MaxRejected
	}
	return l
}

// Bundle is a decoded STIX bundle: the objects that were imported, and for
// tolerant import (IO-02) every object that was not, with the reason, plus
// warnings about what was imported.
type Bundle struct {
	ID string
	// SpecVersion is "2.0" when the input was a STIX 2.0 bundle (whose
	// objects were upgraded), and "" for STIX 2.1, whose bundles have none.
	SpecVersion string
	Objects     []*Object
	// Rejected lists the objects that were not imported, in input order.
	Rejected []Rejection
	// Warnings are about imported objects: references to objects not in the
	// bundle (normal when partners send deltas), upgrades from STIX 2.0,
	// repeated objects, marking-definitions that claim TLP under a
	// non-canonical id. At most 10×MaxRejected are kept; WarningsOmitted
	// counts the rest.
	Warnings        []Warning
	WarningsOmitted int
}

// Rejection says why one object of a bundle was not imported.
type Rejection struct {
	Index    int               `json:"index"`          // position in the bundle's objects
	Pointer  string            `json:"pointer"`        // JSON pointer of the object in the input
	ID       string            `json:"id,omitempty"`   // the object's id, when it had a readable one
	Type     string            `json:"type,omitempty"` // the object's type, when readable
	Problems []bulwark.Problem `json:"problems"`       // every problem found, located by JSON pointer
}

func (r Rejection) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "object %d", r.Index)
	if r.ID != "" {
		fmt.Fprintf(&b, " (%s)", r.ID)
	}
	for i, p := range r.Problems {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(p.String())
	}
	return b.String()
}

// Warning is a remark about an imported object.
type Warning struct {
	Index   int    `json:"index"`
	ID      string `json:"id"`
	Pointer string `json:"pointer,omitempty"`
	Message string `json:"message"`
}

func (w Warning) String() string {
	if w.Pointer != "" {
		return fmt.Sprintf("object %d (%s): %s: %s", w.Index, w.ID, w.Pointer, w.Message)
	}
	return fmt.Sprintf("object %d (%s): %s", w.Index, w.ID, w.Message)
}

// Err returns nil when every object was imported, and otherwise an EINVALID
// *bulwark.Error listing each rejected object's problems: for callers that
// want all or nothing.
func (b *Bundle) Err() error {
	if len(b.Rejected) == 0 {
		return nil
	}
	e := &bulwark.Error{Code: bulwark.EINVALID, Message: fmt.Sprintf("invalid STIX bundle: %d of %d objects rejected", len(b.Rejected), len(b.Rejected)+len(b.Objects))}
	for _, r := range b.Rejected {
		e.Details = append(e.Details, r.Problems...)
	}
	return e
}

var errTooLarge = errors.New("input larger than the limit")

// capReader fails once more than max bytes have been read.
type capReader struct {
	r    io.Reader
	left int64
	max  int64
	hit  bool
	what string
}

func (c *capReader) Read(p []byte) (int, error) {
	if c.left <= 0 {
		// The input may end exactly at the limit: probe one byte.
		var one [1]byte
		n, err := c.r.Read(one[:])
		if n > 0 {
			c.hit = true
			return 0, errTooLarge
		}
		return 0, err
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	return n, err
}

// DecodeBundle reads a STIX 2.1 bundle (or a STIX 2.0 one, whose objects are
// upgraded where that is trivial) strictly and tolerantly at once:
//
//   - The bundle as a whole must be well-formed JSON within lim, an object
//     with type "bundle", no duplicate or case-variant member names and
//     nothing after it; otherwise DecodeBundle returns an EINVALID (or, for a
//     cap, ETOOLARGE) *bulwark.Error whose details carry JSON pointers.
//   - Each object is checked on its own: strict JSON (no duplicate member
//     names, no names that differ only in case — the trap of Go's
//     encoding/json, which would merge OBJECT_MARKING_REFS into
//     object_marking_refs — valid UTF-8, depth, string, element caps) and the
//     rules of the STIX 2.1 specification that its JSON schemas do not check
//     (see Validate). A failing object is listed in Bundle.Rejected with
//     every reason; the others are imported.
//
// References to objects outside the bundle are reported as warnings, not
// errors: partners send deltas.
func DecodeBundle(r io.Reader, lim Limits) (*Bundle, error) {
	b, _, err := decodeContainer(r, lim, false)
	return b, err
}

// Envelope is a TAXII 2.1 envelope: the body of a "get objects" response and
// of an "add objects" request — objects plus paging, no bundle id.
type Envelope struct {
	More bool
	Next string
	// Objects, Rejected and Warnings are as in Bundle; Rejected is what a
	// TAXII server reports as failures in the status resource.
	Objects         []*Object
	Rejected        []Rejection
	Warnings        []Warning
	WarningsOmitted int
}

// DecodeEnvelope reads a TAXII 2.1 envelope ({"more":…,"next":…,"objects":[…]})
// with the same strict and tolerant rules as DecodeBundle. A STIX bundle
// posted where an envelope is due is refused with a clear message.
func DecodeEnvelope(r io.Reader, lim Limits) (*Envelope, error) {
	b, env, err := decodeContainer(r, lim, true)
	if err != nil {
		return nil, err
	}
	env.Objects, env.Rejected, env.Warnings, env.WarningsOmitted = b.Objects, b.Rejected, b.Warnings, b.WarningsOmitted
	return env, nil
}

// decodeContainer reads a bundle, or a TAXII envelope when envelope is set.
func decodeContainer(r io.Reader, lim Limits, envelope bool) (*Bundle, *Envelope, error) {
	lim = lim.withDefaults()
	what := "STIX bundle"
	if envelope {
		what = "TAXII envelope"
	}
	cr := &capReader{r: r, left: lim.MaxBytes, max: lim.MaxBytes, what: what}
	// Duplicate names and invalid UTF-8 are checked per object below, so
	// that one bad object does not sink the others; the container's own
	// members are checked here by hand.
	dec := jsontext.NewDecoder(cr, jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))
	b := &Bundle{}
	env := &Envelope{}
	st := &bundleState{b: b, lim: lim, versions: map[string]int{}, what: what}
	fail := func(code, ptr, format string, args ...any) (*Bundle, *Envelope, error) {
		return nil, nil, containerError(what, code, ptr, format, args...)
	}

	tok, err := dec.ReadToken()
	if err != nil {
		return nil, nil, streamError(cr, err)
	}
	if tok.Kind() != '{' {
		return fail(bulwark.EINVALID, "", "a %s is a JSON object, found %s", what, jsonptr.KindName(tok.Kind()))
	}
	names := map[string]string{}
	var typ string
	for {
		if dec.PeekKind() == '}' {
			break
		}
		tok, err := dec.ReadToken()
		if err != nil {
			return nil, nil, streamError(cr, err)
		}
		name := tok.String()
		ptr := "/" + jsonptr.Escape(name)
		if msg := nameClash(names, name); msg != "" {
			return fail(bulwark.EINVALID, ptr, "%s", msg)
		}
		switch {
		case name == "objects":
			if err := st.readObjects(dec, cr); err != nil {
				return nil, nil, err
			}
		case !envelope && (name == "type" || name == "id" || name == "spec_version"), envelope && name == "next":
			v, err := dec.ReadValue()
			if err != nil {
				return nil, nil, streamError(cr, err)
			}
			var s string
			if v.Kind() != '"' || unmarshal(v, &s) != nil {
				return fail(bulwark.EINVALID, ptr, "expected a string, found %s", jsonptr.KindName(v.Kind()))
			}
			switch name {
			case "type":
				typ = s
			case "id":
				b.ID = s
			case "spec_version":
				b.SpecVersion = s
			case "next":
				env.Next = s
			}
		case envelope && name == "more":
			v, err := dec.ReadValue()
			if err != nil {
				return nil, nil, streamError(cr, err)
			}
			if k := v.Kind(); k != 't' && k != 'f' {
				return fail(bulwark.EINVALID, ptr, "expected a boolean, found %s", jsonptr.KindName(k))
			}
			env.More = v.Kind() == 't'
		case envelope && name == "type":
			return fail(bulwark.EINVALID, ptr, "a TAXII 2.1 envelope has no type: send the bundle's objects in {\"objects\":[…]}")
		default:
			// No other properties are defined; a custom one is skipped (not
			// an object's data, so nothing is lost that STIX keeps).
			if !validPropertyName(name) {
				return fail(bulwark.EINVALID, ptr, "invalid property name %q: STIX names use only a-z, 0-9 and _", name)
			}
			if err := dec.SkipValue(); err != nil {
				return nil, nil, streamError(cr, err)
			}
		}
	}
	if _, err := dec.ReadToken(); err != nil {
		return nil, nil, streamError(cr, err)
	}
	if _, err := dec.ReadToken(); err != io.EOF {
		if err != nil {
			return nil, nil, streamError(cr, err)
		}
		return fail(bulwark.EINVALID, "", "unexpected data after the %s (byte %d)", what, dec.InputOffset())
	}
	if !envelope {
		switch {
		case typ == "":
			return fail(bulwark.EINVALID, "/type", "missing: a STIX bundle has type \"bundle\"")
		case typ != "bundle":
			return fail(bulwark.EINVALID, "/type", "type is %q, want \"bundle\"", typ)
		}
		if b.ID != "" {
			if t, _, ok := ParseID(b.ID); !ok || t != "bundle" {
				return fail(bulwark.EINVALID, "/id", "invalid bundle id %q: want bundle--<UUID>", b.ID)
			}
		}
		switch b.SpecVersion {
		case "", "2.1":
			b.SpecVersion = ""
		case "2.0":
		default:
			return fail(bulwark.EUNSUPPORTED, "/spec_version", "unsupported STIX version %q (2.0 and 2.1 are read)", b.SpecVersion)
		}
	}
	st.danglingRefs()
	return b, env, nil
}

type bundleState struct {
	b    *Bundle
	lim  Limits
	what string
	// versions maps id + "\x00" + version to the index in b.Objects.
	versions map[string]int
	// index is the input position of each of b.Objects.
	index []int
}

func (st *bundleState) readObjects(dec *jsontext.Decoder, cr *capReader) error {
	tok, err := dec.ReadToken()
	if err != nil {
		return streamError(cr, err)
	}
	if tok.Kind() != '[' {
		return containerError(st.what, bulwark.EINVALID, "/objects", "expected an array, found %s", jsonptr.KindName(tok.Kind()))
	}
	for i := 0; ; i++ {
		if dec.PeekKind() == ']' {
			break
		}
		if i >= st.lim.MaxObjects {
			return containerError(st.what, bulwark.ETOOLARGE, "/objects", "more than %d objects", st.lim.MaxObjects)
		}
		v, err := dec.ReadValue()
		if err != nil {
			return streamError(cr, err)
		}
		ptr := "/objects/" + strconv.Itoa(i)
		o, probs := parseObject(v, ptr, 2, st.lim)
		if len(probs) > 0 {
			rej := Rejection{Index: i, Pointer: ptr, Problems: probs}
			if o != nil {
				rej.ID, rej.Type = o.c.ID, o.c.Type
			} else {
				rej.ID, rej.Type = peekIdentity(v)
			}
			st.b.Rejected = append(st.b.Rejected, rej)
			if len(st.b.Rejected) > st.lim.MaxRejected {
				e := containerError(st.what, bulwark.EINVALID, "/objects", "more than %d objects rejected; the first:", st.lim.MaxRejected).(*bulwark.Error)
				for _, r := range st.b.Rejected[:3] {
					e.Details = append(e.Details, r.Problems...)
				}
				return e
			}
			continue
		}
		st.add(i, ptr, o)
	}
	_, err = dec.ReadToken()
	if err != nil {
		return streamError(cr, err)
	}
	return nil
}

// warn records a warning, up to 10×MaxRejected of them.
func (st *bundleState) warn(w Warning) {
	if len(st.b.Warnings) >= 10*st.lim.MaxRejected {
		st.b.WarningsOmitted++
		return
	}
	st.b.Warnings = append(st.b.Warnings, w)
}

// add appends an accepted object, dropping an exact repeat of a version
// already in the bundle and rejecting a different object under the same id
// and version.
func (st *bundleState) add(i int, ptr string, o *Object) {
	if o.upgradedFrom != "" {
		st.warn(Warning{Index: i, ID: o.ID(), Message: "upgraded from STIX " + o.upgradedFrom + " to 2.1"})
	}
	if o.Type() == "marking-definition" && !IsTLPID(o.ID()) {
		if claim := claimsTLP(o); claim != "" {
			st.warn(Warning{Index: i, ID: o.ID(), Message: fmt.Sprintf(
				"marking-definition claims %s under a non-canonical id; objects marked with it are treated as TLP:RED", claim)})
		}
	}
	key := o.ID() + "\x00" + o.Version()
	if j, ok := st.versions[key]; ok {
		prev := st.b.Objects[j]
		if prev.Equal(o) {
			st.warn(Warning{Index: i, ID: o.ID(), Message: "repeats an earlier object of the bundle; kept once"})
			return
		}
		st.b.Rejected = append(st.b.Rejected, Rejection{Index: i, Pointer: ptr, ID: o.ID(), Type: o.Type(), Problems: []bulwark.Problem{{
			Field: ptr, Message: fmt.Sprintf("another object of the bundle has the same id and version (%s) but different content", versionLabel(o)),
		}}})
		return
	}
	st.versions[key] = len(st.b.Objects)
	st.b.Objects = append(st.b.Objects, o)
	st.index = append(st.index, i)
}

func versionLabel(o *Object) string {
	if v := o.Version(); v != "" {
		return "modified " + v
	}
	return "unversioned"
}

// danglingRefs warns about references to objects that are neither in the
// bundle nor canonical TLP markings.
func (st *bundleState) danglingRefs() {
	ids := make(map[string]bool, len(st.b.Objects))
	for _, o := range st.b.Objects {
		ids[o.ID()] = true
	}
	for j, o := range st.b.Objects {
		i := st.index[j]
		for _, r := range o.refs {
			if !ids[r.ID] && !IsTLPID(r.ID) {
				st.warn(Warning{Index: i, ID: o.ID(), Pointer: "/objects/" + strconv.Itoa(i) + r.Pointer,
					Message: "references " + r.ID + ", which is not in the bundle"})
			}
		}
	}
}

// DecodeObject reads one STIX object (not a bundle) strictly, within lim.
// Any problem is an error: an EINVALID *bulwark.Error whose details are
// located by JSON pointer (ETOOLARGE for a cap on the whole input).
func DecodeObject(r io.Reader, lim Limits) (*Object, error) {
	lim = lim.withDefaults()
	data, err := io.ReadAll(io.LimitReader(r, lim.MaxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("stix: read object: %w", err)
	}
	if int64(len(data)) > lim.MaxBytes {
		return nil, objectError(bulwark.ETOOLARGE, "", []bulwark.Problem{{Message: fmt.Sprintf("input larger than %d bytes", lim.MaxBytes)}})
	}
	return ParseObject(data, lim)
}

// ParseObject is DecodeObject over bytes already read.
func ParseObject(data []byte, lim Limits) (*Object, error) {
	lim = lim.withDefaults()
	if int64(len(data)) > lim.MaxBytes {
		return nil, objectError(bulwark.ETOOLARGE, "", []bulwark.Problem{{Message: fmt.Sprintf("input larger than %d bytes", lim.MaxBytes)}})
	}
	// One whole, syntactically valid value first: the per-object walk
	// reports content problems; this reports truncation and trailing data.
	dec := jsontext.NewDecoder(bytes.NewReader(data), jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))
	v, err := dec.ReadValue()
	if err != nil {
		return nil, objectError(bulwark.EINVALID, "", []bulwark.Problem{syntaxProblem("", err)})
	}
	v = v.Clone() // valid only until the next read
	if _, err := dec.ReadToken(); err != io.EOF {
		return nil, objectError(bulwark.EINVALID, "", []bulwark.Problem{{Message: fmt.Sprintf("unexpected data after the object (byte %d)", dec.InputOffset())}})
	}
	o, probs := parseObject(v, "", 1, lim)
	if len(probs) > 0 {
		id := ""
		if o != nil {
			id = o.c.ID
		}
		return nil, objectError(bulwark.EINVALID, id, probs)
	}
	return o, nil
}

func objectError(code, id string, probs []bulwark.Problem) error {
	msg := "invalid STIX object"
	if id != "" {
		msg += " " + id
	}
	if code == bulwark.ETOOLARGE {
		msg = "STIX object too large"
	}
	return &bulwark.Error{Code: code, Message: msg, Details: probs}
}

func containerError(what, code, ptr, format string, args ...any) error {
	msg := "invalid " + what
	switch code {
	case bulwark.ETOOLARGE:
		msg = what + " too large"
	case bulwark.EUNSUPPORTED:
		msg = "unsupported " + what
	}
	return &bulwark.Error{Code: code, Message: msg, Details: []bulwark.Problem{{Field: ptr, Message: fmt.Sprintf(format, args...)}}}
}

// streamError turns an error of the bundle's token stream into a located
// *bulwark.Error.
func streamError(cr *capReader, err error) error {
	if cr.hit || errors.Is(err, errTooLarge) {
		return containerError(cr.what, bulwark.ETOOLARGE, "", "input larger than %d bytes", cr.max)
	}
	p := syntaxProblem("", err)
	var se *jsontext.SyntacticError
	if !errors.As(err, &se) && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		// A failure of the underlying reader, not of the input.
		return fmt.Errorf("stix: read %s: %w", cr.what, err)
	}
	return &bulwark.Error{Code: bulwark.EINVALID, Message: "invalid " + cr.what, Details: []bulwark.Problem{p}}
}

// syntaxProblem locates a jsontext error: the JSON pointer of the value being
// read (prefixed with base) and the byte offset.
func syntaxProblem(base string, err error) bulwark.Problem {
	var se *jsontext.SyntacticError
	if errors.As(err, &se) {
		msg := "invalid JSON"
		if se.Err != nil {
			msg = strings.TrimPrefix(se.Err.Error(), "jsontext: ")
			if errors.Is(se.Err, io.ErrUnexpectedEOF) {
				msg = "unexpected end of input (truncated?)"
			}
		}
		if strings.Contains(msg, "exceeded max depth") {
			msg = "nesting deeper than the JSON reader allows"
		}
		return bulwark.Problem{Field: shortPointer(base + string(se.JSONPointer)), Message: fmt.Sprintf("%s (byte %d)", msg, se.ByteOffset)}
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return bulwark.Problem{Field: base, Message: "unexpected end of input (truncated?)"}
	}
	return bulwark.Problem{Field: base, Message: strings.TrimPrefix(err.Error(), "jsontext: ")}
}

// shortPointer keeps error messages readable when a hostile input nests
// thousands of levels: a pointer over 200 bytes is cut, marked with "…".
func shortPointer(p string) string {
	if len(p) <= 200 {
		return p
	}
	cut := 200
	for cut > 0 && !utf8.RuneStart(p[cut]) {
		cut--
	}
	return p[:cut] + "…"
}

// foldKey is the case-folded form under which member names that differ
// only in case meet, including the two non-ASCII letters Go's encoding/json
// folds onto ASCII ones (long s onto s, the Kelvin sign onto k).
func foldKey(name string) string {
	for i := 0; i < len(name); i++ {
		if c := name[i]; c >= 0x80 || 'A' <= c && c <= 'Z' {
			return strings.ToLower(strings.ToUpper(name))
		}
	}
	return name
}

// nameClash records name among an object's member names and says what is
// wrong when it repeats one or differs from one only in case.
func nameClash(names map[string]string, name string) string {
	key := foldKey(name)
	if prev, ok := names[key]; ok {
		if prev == name {
			return fmt.Sprintf("duplicate member %q", name)
		}
		return fmt.Sprintf("member %q differs only in case from member %q", name, prev)
	}
	names[key] = name
	return ""
}

// validPropertyName checks a top-level property name: STIX 2.1 (section
// 3.1) allows only a-z, 0-9 and _, at most 250 characters. "__proto__" is
// refused as well: it is meaningless in STIX and a known hazard for
// JavaScript consumers of what Bulwark re-publishes.
func validPropertyName(n string) bool {
	if n == "" || len(n) > 250 || n == "__proto__" {
		return false
	}
	for i := 0; i < len(n); i++ {
		c := n[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// peekIdentity returns the type and id of a rejected object when they can be
// read at all (for the rejection report).
func peekIdentity(v []byte) (id, typ string) {
	var c struct {
		Type string `json:"type"`
		ID   string `json:"id"`
	}
	if json.Unmarshal(v, &c, jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true)) != nil {
		return "", ""
	}
	if len(c.ID) > 300 {
		c.ID = c.ID[:300]
	}
	if len(c.Type) > 250 {
		c.Type = c.Type[:250]
	}
	return c.ID, c.Type
}

// frame is one open JSON container during the walk of an object.
type frame struct {
	array bool
	n     int // members or elements so far
	// seen lists the member names so far; names indexes them by their
	// lower-case form once there are more than a few.
	seen  []string
	names map[string]string
	// member is the name of the member whose value is being read (objects);
	// refs says the array is the value of a *_refs member.
	member     string
	expectName bool
	refs       bool
}

// memberNames returns the member names of the object.
func (f *frame) memberNames() []string {
	if f.names == nil {
		return f.seen
	}
	out := make([]string, 0, len(f.names))
	for _, n := range f.names {
		out = append(out, n)
	}
	return out
}

// clash records a member name of the object and says what is wrong when it
// repeats one or differs from one only in case. Small objects (nearly all)
// are checked by a linear scan, large ones through a map.
func (f *frame) clash(name string) string {
	if f.names == nil && len(f.seen) < 16 {
		for _, prev := range f.seen {
			if strings.EqualFold(prev, name) {
				if prev == name {
					return fmt.Sprintf("duplicate member %q", name)
				}
				return fmt.Sprintf("member %q differs only in case from member %q", name, prev)
			}
		}
		f.seen = append(f.seen, name)
		return ""
	}
	if f.names == nil {
		f.names = make(map[string]string, 2*len(f.seen))
		for _, prev := range f.seen {
			f.names[foldKey(prev)] = prev
		}
	}
	return nameClash(f.names, name)
}

// parseObject checks and parses one object's JSON. ptr is its JSON pointer
// in the input and depth the nesting level of the object itself. It returns
// the object (possibly partial, for the report) and every problem found.
func parseObject(v []byte, ptr string, depth int, lim Limits) (*Object, []bulwark.Problem) {
	if k := jsontext.Value(v).Kind(); k != '{' {
		return nil, []bulwark.Problem{{Field: ptr, Message: "a STIX object is a JSON object, found " + jsonptr.KindName(k)}}
	}
	refs, names, probs := walk(v, ptr, depth, lim)
	if len(probs) > 0 {
		return nil, probs
	}
	// Everything below reads the canonical form, so that accessors return
	// canonical JSON (extensions, properties).
	canon, err := Canonical(v)
	if err != nil {
		return nil, []bulwark.Problem{{Field: ptr, Message: err.Error()}}
	}
	o := &Object{refs: refs}
	var w wire
	if err := unmarshal(canon, &w); err != nil {
		return nil, []bulwark.Problem{semanticProblem(ptr, err)}
	}
	o.c = w.common
	if probs := validateImport(o, w.props(names), ptr); len(probs) > 0 {
		return o, probs
	}
	if needsUpgrade(o) {
		up, probs := upgrade(o, canon, ptr)
		if len(probs) > 0 {
			return o, probs
		}
		if canon, err = Canonical(up); err != nil {
			return o, []bulwark.Problem{{Field: ptr, Message: err.Error()}}
		}
	}
	o.raw = canon
	// Reference pointers stay valid: canonical form reorders members, never
	// array elements.
	for i := range o.refs {
		o.refs[i].Pointer = strings.TrimPrefix(o.refs[i].Pointer, ptr)
	}
	return o, nil
}

// semanticProblem locates an error of json.Unmarshal (a property of the
// wrong JSON type).
func semanticProblem(base string, err error) bulwark.Problem {
	var se *json.SemanticError
	if errors.As(err, &se) {
		msg := "wrong type"
		if se.JSONKind != 0 && se.GoType != nil {
			msg = "unexpected " + jsonptr.KindName(se.JSONKind) + " for this property"
		}
		if se.Err != nil {
			msg += ": " + strings.TrimPrefix(se.Err.Error(), "json: ")
		}
		return bulwark.Problem{Field: base + string(se.JSONPointer), Message: msg}
	}
	return bulwark.Problem{Field: base, Message: strings.TrimPrefix(err.Error(), "json: ")}
}

// walk reads an object's JSON token by token and reports what a lenient
// decoder would accept silently: duplicate member names and names that
// differ only in case (at any depth), invalid UTF-8, nesting deeper than
// lim.MaxDepth, strings and numbers over lim.MaxStringBytes, containers over
// lim.MaxElements, numbers beyond the range of a double, top-level property
// names outside STIX's a-z0-9_ and null property values. It also collects
// the identifier references (*_ref, *_refs). Memory stays bounded by depth.
//
// It is a walk of its own rather than internal/csaf's because it works per
// object inside a stream, keeps going after a problem, and collects
// references on the way; the shared pieces (pointer escaping, kind names)
// come from internal/jsonptr.
func walk(v []byte, base string, depth int, lim Limits) (refs []Ref, names []string, probs []bulwark.Problem) {
	dec := jsontext.NewDecoder(bytes.NewReader(v), jsontext.AllowDuplicateNames(true))
	var stack []frame
	add := func(msg string, args ...any) {
		probs = append(probs, bulwark.Problem{Field: shortPointer(base + string(dec.StackPointer())), Message: fmt.Sprintf(msg, args...)})
	}
	fail := func(err error) {
		p := syntaxProblem(base, err)
		if strings.Contains(p.Message, "invalid UTF-8") {
			p.Message = "invalid UTF-8 in a string: " + p.Message
		}
		probs = append(probs, p)
	}
	for len(probs) < 20 {
		// String values are read raw (no string allocated): most of a
		// STIX object's bytes are descriptions.
		if n := len(stack); n > 0 && (stack[n-1].array || !stack[n-1].expectName) && dec.PeekKind() == '"' {
			top := &stack[n-1]
			refMember := top.refs
			if top.array {
				top.n++
				if top.n == lim.MaxElements+1 {
					add("more than %d elements", lim.MaxElements)
				}
			} else {
				top.expectName = true
				refMember = strings.HasSuffix(top.member, "_ref")
			}
			raw, err := dec.ReadValue()
			if err != nil {
				fail(err)
				break
			}
			if len(raw) > lim.MaxStringBytes+2 {
				add("string longer than %d bytes", lim.MaxStringBytes)
				continue
			}
			if refMember && len(raw) < 300 {
				if id, err := jsontext.AppendUnquote(nil, raw); err == nil {
					if _, _, ok := ParseID(string(id)); ok {
						ptr := "/" + jsonptr.Escape(top.member)
						if n > 1 || top.array {
							ptr = string(dec.StackPointer())
						}
						refs = append(refs, Ref{Pointer: base + ptr, ID: string(id)})
					}
				}
			}
			continue
		}
		tok, err := dec.ReadToken()
		if err == io.EOF {
			break
		}
		if err != nil {
			fail(err)
			break
		}
		k := tok.Kind()
		if k == '}' || k == ']' {
			if len(stack) == 1 {
				names = stack[0].memberNames()
			}
			stack = stack[:len(stack)-1]
			continue
		}
		var top *frame
		if len(stack) > 0 {
			top = &stack[len(stack)-1]
		}
		if top != nil && !top.array && top.expectName {
			name := tok.String()
			top.expectName = false
			top.member = name
			top.n++
			if top.n == lim.MaxElements+1 {
				add("more than %d members", lim.MaxElements)
			}
			if len(name) > lim.MaxStringBytes {
				add("member name longer than %d bytes", lim.MaxStringBytes)
				continue
			}
			if msg := top.clash(name); msg != "" {
				add("%s", msg)
			}
			if name == "__proto__" {
				add("member name %q is not allowed", name)
			} else if len(stack) == 1 && !validPropertyName(name) {
				add("invalid property name %q: STIX 2.1 property names use only a-z, 0-9 and _", name)
			}
			continue
		}
		// A value other than a string.
		if top != nil {
			if top.array {
				top.n++
				if top.n == lim.MaxElements+1 {
					add("more than %d elements", lim.MaxElements)
				}
			} else {
				top.expectName = true
			}
		}
		switch k {
		case '{', '[':
			f := frame{array: k == '[', expectName: k == '{'}
			if k == '[' && top != nil && !top.array && strings.HasSuffix(top.member, "_refs") {
				f.refs = true
			}
			stack = append(stack, f)
			if depth-1+len(stack) > lim.MaxDepth {
				add("nesting deeper than %d levels", lim.MaxDepth)
				return refs, nil, probs
			}
		case '0':
			s := tok.String()
			if len(s) > lim.MaxStringBytes {
				add("number longer than %d bytes", lim.MaxStringBytes)
				continue
			}
			if strings.ContainsAny(s, ".eE") {
				if _, err := strconv.ParseFloat(s, 64); err != nil {
					add("number %.40s is beyond the range of a double", s)
				}
			}
		case 'n':
			if len(stack) == 1 {
				add("null is not a STIX value: omit the property instead")
			}
		}
	}
	return refs, names, probs
}
