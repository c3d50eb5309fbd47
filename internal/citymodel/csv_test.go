package citymodel

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"bulwark"
	"bulwark/internal/testenv"
)

func TestCSVImport(t *testing.T) {
	st := newMemStore()
	res, err := Import(context.Background(), st, []Source{FileSource("testdata/assets.csv"), FileSource("testdata/city.yaml")}, ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Assets != 12 || res.Stats.Created != 19 {
		t.Errorf("result %+v", res)
	}
	want := bulwark.Asset{ID: "plc-0101", Name: "Lift station 4 PLC", Owner: "city-water", Kind: "plc", Vendor: "Siemens", Product: "simatic_s7-1500",
		Version: "2.9.4", CPEs: []string{"cpe:2.3:h:siemens:simatic_s7-1500:-:*:*:*:*:*:*:*", "cpe:2.3:o:siemens:simatic_s7-1500_firmware:2.9.4:*:*:*:*:*:*:*"},
		Location: bulwark.Location{Site: "Lift station 4", Lat: 36.84, Lon: -76.28}, Count: 1, System: "water-scada", SystemDependency: bulwark.Hard, SystemGroup: "plcs"}
	if diff := cmp.Diff(want, st.assets["plc-0101"]); diff != "" {
		t.Errorf("plc-0101 (-want +got):\n%s", diff)
	}
	if a := st.assets["meter-n"]; a.Name != `Smart meters, "north" district` || a.Count != 12500 || a.System != "" {
		t.Errorf("meter-n = %+v", a)
	}
	if a := st.assets["cam-0200"]; a.Name != "Traffic camera, Main St & 5th" || a.Location.Lon != -76.30 {
		t.Errorf("cam-0200 = %+v", a)
	}
}

func TestCSVProblems(t *testing.T) {
	const head = "id,name,owner,system,dependency,group,cpe,purl,lat,lon,count\n"
	tests := []struct {
		name string
		in   string
		opt  CSVMapping
		want []want
	}{
		{"valid", head + "a1,A,org,stored-sys,soft,g,,,,,\n", CSVMapping{}, nil},
		{"bad cells", head + "a 1,A,org,,soft,g,cpe:2.3:h:x,pkg:npm,91,,0\n", CSVMapping{},
			[]want{{"a.csv", 2, 1, "id", "invalid id"},
				{"a.csv", 2, 5, "dependency", "dependency is set but system is not"},
				{"a.csv", 2, 6, "group", "group is set but system is not"},
				{"a.csv", 2, 7, "cpe", "has 2 components"},
				{"a.csv", 2, 8, "purl", "must have a type"},
				{"a.csv", 2, 9, "lat", "want a number from -90 to 90"},
				{"a.csv", 2, 11, "count", "at least 1"}}},
		{"missing required cells", head + ",,,,,,,,,,\n", CSVMapping{},
			[]want{{"a.csv", 2, 1, "id", "missing required id"}, {"a.csv", 2, 2, "name", "missing required name"}, {"a.csv", 2, 3, "owner", "missing required owner"}}},
		{"dangling references", head + "a1,A,nobody,nosys,,,,,,,\n", CSVMapping{},
			[]want{{"a.csv", 2, 3, "owner", `unknown organization "nobody"`}, {"a.csv", 2, 4, "system", `unknown system "nosys"`}}},
		{"duplicate id", head + "a1,A,org,,,,,,,,\na1,B,org,,,,,,,,\n", CSVMapping{},
			[]want{{"a.csv", 3, 1, "id", `duplicate id "a1": already used by the asset at a.csv:2`}}},
		{"wrong cell count", head + "a1,A,org\n", CSVMapping{},
			[]want{{"a.csv", 2, 0, "", "row has 3 cells but the header has 11 columns"}}},
		{"quoted multi-line cell keeps its line", "id,name,owner\na1,\"two\nlines\",org\na2,\"x\",nobody\n", CSVMapping{},
			[]want{{"a.csv", 2, 2, "name", "control character U+000A"}, {"a.csv", 4, 3, "owner", `unknown organization "nobody"`}}},
		{"bare quote", "id,name,owner\na1,A \"x\" B,org\n", CSVMapping{},
			[]want{{"a.csv", 2, 6, "", `CSV syntax error: bare " in non-quoted-field`}}},
		{"unknown and repeated columns", "Asset ID,Tag,Name,Owner,Serial\n", CSVMapping{},
			[]want{{"a.csv", 1, 2, "Tag", `columns "Asset ID" and "Tag" both give the asset's id`}, {"a.csv", 1, 5, "Serial", `unknown column "Serial"`}}},
		{"missing required column", "name,kind\nA,plc\n", CSVMapping{},
			[]want{{"a.csv", 1, 0, "", "no column gives the asset's id (a header named asset_id, asset_tag, id, tag)"},
				{"a.csv", 1, 0, "", "no column gives the asset's owner"}}},
		{"mapping override, ignore and defaults", "Serial,Label,Notes\nSN-1,Pump,whatever\n", CSVMapping{Columns: map[string]string{"serial": "id", "LABEL": "name", "notes": "-"}, Defaults: map[string]string{"owner": "org"}}, nil},
		{"ignore unknown", "id,name,owner,serial\na,A,org,123\n", CSVMapping{IgnoreUnknown: true}, nil},
		{"mapping to a non-field", "id,name,owner,x\n", CSVMapping{Columns: map[string]string{"x": "colour"}},
			[]want{{"a.csv", 1, 4, "x", `sends column "x" to "colour", which is not an asset field`}}},
		{"empty file", "", CSVMapping{}, []want{{"a.csv", 0, 0, "", "empty CSV file"}}},
		{"too many columns", strings.Repeat("c,", 100000) + "c\n", CSVMapping{},
			[]want{{"a.csv", 1, 0, "", "CSV header has 100001 columns; at most 256 are supported"}}},
		{"not CSV (binary)", "id,name,owner\n\x00\x01\x02,\xff\xfe,org\n", CSVMapping{},
			[]want{{"a.csv", 2, 1, "id", "invalid id"}, {"a.csv", 2, 2, "name", "control character"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := storedFixture()
			s := src("a.csv", tc.in)
			_, err := Validate(context.Background(), st, []Source{s}, ImportOptions{CSV: tc.opt})
			checkProblems(t, err, tc.want)
			_, err = Import(context.Background(), st, []Source{s}, ImportOptions{CSV: tc.opt})
			if (err != nil) != (tc.want != nil) || (tc.want != nil && st.commits != 0) {
				t.Errorf("Import: %v, %d commits", err, st.commits)
			}
		})
	}
}

// TestIN02_CSVLongLine: one 1 GiB line is refused after the record cap,
// without being buffered.
func TestIN02_CSVLongLine(t *testing.T) {
	var e *endless
	s := Source{Name: "long.csv", Open: func() (io.ReadCloser, error) {
		e = &endless{pattern: []byte("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx,"), n: 1 << 30}
		return readCloser{io.MultiReader(strings.NewReader("id,name,owner\n"), e), e}, nil
	}}
	start := testenv.CPUTime()
	_, err := Import(context.Background(), storedFixture(), []Source{s}, ImportOptions{})
	if bulwark.ErrorCode(err) != bulwark.ETOOLARGE || !strings.Contains(err.Error(), "long.csv: the CSV record starting at line 2 is longer than 1 MiB") {
		t.Fatalf("got %v", err)
	}
	if d := testenv.CPUTime() - start; e.off > 2<<20 || d > failFast {
		t.Errorf("read %d bytes in %v of CPU", e.off, d)
	}
	// An unterminated quoted field is the same.
	s = src("quote.csv", "id,name,owner\na,\""+strings.Repeat("x\n", 600<<10))
	_, err = Import(context.Background(), storedFixture(), []Source{s}, ImportOptions{})
	if bulwark.ErrorCode(err) != bulwark.ETOOLARGE {
		t.Fatalf("unterminated quote: %v", err)
	}
}

func TestSplitList(t *testing.T) {
	got := splitList(` a ; b|c\;d ;; e\|f |`)
	if diff := cmp.Diff([]string{"a", "b", `c\;d`, `e\|f`}, got); diff != "" {
		t.Error(diff)
	}
}

// TestExamples imports the documented examples together.
func TestExamples(t *testing.T) {
	st := newMemStore()
	res, err := Import(context.Background(), st, []Source{FileSource("../../examples/city.yaml"), FileSource("../../examples/assets.csv")}, ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Files != 2 || res.Assets != 12 {
		t.Errorf("result %+v", res)
	}
}
