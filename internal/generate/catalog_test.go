package generate

import (
	"bytes"
	"strings"
	"testing"

	"bulwark"
	"bulwark/internal/cpe"
)

func TestCatalog(t *testing.T) {
	list, err := Catalog()
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 584 {
		t.Errorf("catalog has %d products, want 584", len(list))
	}
	examples := 0
	for _, p := range list {
		if p.ExampleCPE == "" {
			continue
		}
		examples++
		if err := checkCPE(p.ExampleCPE); err != nil {
			t.Errorf("%s: example %q: %v", p.Key(), p.ExampleCPE, err)
		}
		if v, _ := p.ExampleVersion(); v == "" || v == "*" {
			t.Errorf("%s: example %q has no concrete version", p.Key(), p.ExampleCPE)
		}
	}
	if examples < 200 {
		t.Errorf("only %d products have an example CPE", examples)
	}
	if p, ok := lookup(`a:advantech:webaccess\/nms`); !ok || unquoteCPE(p.Product) != "webaccess/nms" {
		t.Errorf("quoted product lookup: %+v %v", p, ok)
	}
}

// TestDevices checks that every product the generator uses is in the
// catalog and gets well-formed CPE names that name it.
func TestDevices(t *testing.T) {
	if err := devicesOnce(); err != nil {
		t.Fatal(err)
	}
	for role, opts := range roles {
		for _, d := range opts {
			if d.kind == "" || d.vend == "" || d.prod == "" || d.ver == "" {
				t.Errorf("role %s: incomplete device %+v", role, d)
			}
			for _, key := range []string{d.h, d.o, d.a} {
				if key == "" {
					continue
				}
				found := false
				for _, c := range d.cpes {
					found = found || strings.HasPrefix(c, "cpe:2.3:"+key+":")
				}
				if !found {
					t.Errorf("role %s: %s has no CPE name in %q", role, key, d.cpes)
				}
			}
			for _, c := range d.cpes {
				if err := checkCPE(c); err != nil {
					t.Errorf("role %s: %q: %v", role, c, err)
				}
			}
			if (d.h != "" || d.o != "" || d.a != "") != (len(d.cpes) > 0) {
				t.Errorf("role %s: CPE names %q do not match the catalog keys", role, d.cpes)
			}
		}
	}
	// Versions come from the example vulnerable CPE where there is one.
	for _, d := range roles["plc"] {
		if d.h == "h:siemens:simatic_s7_cpu_1214c" && d.ver != "2.0" {
			t.Errorf("S7-1200 version %q, want the catalog's 2.0", d.ver)
		}
	}
	for _, d := range roles["firewall"] {
		if d.o == "o:fortinet:fortios" {
			want := []string{"cpe:2.3:h:fortinet:fortigate-600c:-:*:*:*:*:*:*:*", "cpe:2.3:o:fortinet:fortios:5.0.1:*:*:*:*:*:*:*"}
			if strings.Join(d.cpes, " ") != strings.Join(want, " ") {
				t.Errorf("FortiGate CPEs %q, want %q", d.cpes, want)
			}
		}
	}
}

func TestCPEQuoting(t *testing.T) {
	tests := []struct{ plain, quoted string }{
		{"webaccess/nms", `webaccess\/nms`},
		{"1.0 (beta)", `1.0\ \(beta\)`},
		{"r2", "r2"},
		{"a&b", `a\&b`},
	}
	for _, tc := range tests {
		if got := quoteCPE(tc.plain); got != tc.quoted {
			t.Errorf("quoteCPE(%q) = %q, want %q", tc.plain, got, tc.quoted)
		}
		if got := unquoteCPE(tc.quoted); got != tc.plain {
			t.Errorf("unquoteCPE(%q) = %q, want %q", tc.quoted, got, tc.plain)
		}
	}
	if got := cpe.Split(`cpe:2.3:a:advantech:webaccess\/scada:8.3.2:*:*:*:*:*:*:*`); len(got) != 13 || got[4] != `webaccess\/scada` {
		t.Errorf("splitCPE kept quoted colon wrong: %q", got)
	}
	if got := cpe.Split(`cpe:2.3:a:x:y\:z:1:*:*:*:*:*:*:*`); len(got) != 13 {
		t.Errorf("splitCPE split at a quoted colon: %q", got)
	}
}

func TestParseCatalogRejects(t *testing.T) {
	head := strings.Join(catalogHeader, ",") + "\n"
	tests := map[string]string{
		"empty":        "",
		"bad header":   "a,b,c,d,e,f,g,h\n",
		"short row":    head + "water,plc,o,wago\n",
		"bad part":     head + "water,plc,x,wago,pfc200_firmware,2,1,\n",
		"bad count":    head + "water,plc,o,wago,pfc200_firmware,two,1,\n",
		"wrong cpe":    head + "water,plc,o,wago,pfc200_firmware,2,1,cpe:2.3:o:wago:other:1:*:*:*:*:*:*:*\n",
		"duplicate":    head + "water,plc,o,wago,pfc200_firmware,2,1,\nwater,plc,o,wago,pfc200_firmware,2,1,\n",
		"broken quote": head + "\"water,plc,o,wago,pfc200_firmware,2,1,\n",
	}
	for name, data := range tests {
		if _, _, err := parseCatalog([]byte(data)); err == nil {
			t.Errorf("%s: parsed without error", name)
		}
	}
	if _, _, err := parseCatalog([]byte(head + "water,plc,o,wago,pfc200_firmware,2,1,\n")); err != nil {
		t.Errorf("valid one-row catalog: %v", err)
	}
}

func FuzzParseCatalog(f *testing.F) {
	f.Add(productsCSV[:bytes.IndexByte(productsCSV, '\n')+1])
	lines := bytes.SplitAfter(productsCSV, []byte("\n"))
	f.Add(bytes.Join(lines[:20], nil))
	f.Add([]byte(strings.Join(catalogHeader, ",") + "\nwater,plc,a,x,y\\/z,1,0,cpe:2.3:a:x:y\\/z:1:*:*:*:*:*:*:*\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		list, idx, err := parseCatalog(data)
		if err != nil {
			return
		}
		if len(idx) != len(list) {
			t.Fatalf("index has %d keys for %d products", len(idx), len(list))
		}
		for i, p := range list {
			if idx[p.Key()] != i {
				t.Fatalf("index of %s is %d, want %d", p.Key(), idx[p.Key()], i)
			}
			p.ExampleVersion() // must not panic
		}
	})
}

// FuzzGenerate checks that any small city is valid.
func FuzzGenerate(f *testing.F) {
	f.Add(uint16(0), int64(0))
	f.Add(uint16(57), int64(-1))
	f.Add(uint16(1500), int64(20261122))
	f.Fuzz(func(t *testing.T, n uint16, seed int64) {
		c := newCityCheck()
		err := Generate(Options{Assets: int(n % 3000), Seed: seed}, func(ch *bulwark.City) error {
			c.chunk(ch)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if p := c.finish(); len(p) > 0 {
			t.Fatalf("n=%d seed=%d: %s", n%3000, seed, strings.Join(p, "\n"))
		}
		if c.assets != int(n%3000) {
			t.Fatalf("got %d assets, want %d", c.assets, n%3000)
		}
	})
}
