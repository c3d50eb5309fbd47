package attack

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"bulwark/internal/testenv"
)

var update = flag.Bool("update-attack", false, "rebuild data/ics-techniques.json from the shared ATT&CK for ICS bundle")

// TestUpdateTechniques rebuilds the embedded file from MITRE's bundle
// (with -update-attack) or checks that it matches what the bundle gives.
func TestUpdateTechniques(t *testing.T) {
	path := filepath.Join(testenv.SharedData(t), "attack-ics", "ics-attack-18.1.json")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	got, err := extract(b)
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(filepath.Join("data", "ics-techniques.json"), got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if string(got) != string(icsJSON) {
		t.Errorf("data/ics-techniques.json differs from what the bundle gives; run with -update-attack")
	}
}

// extract keeps the active (not revoked, not deprecated) techniques of a
// STIX 2.1 ATT&CK bundle, with their tactics' names, sorted by ID.
func extract(bundle []byte) ([]byte, error) {
	var b struct {
		Objects []struct {
			Type       string `json:"type"`
			Name       string `json:"name"`
			Revoked    bool   `json:"revoked"`
			Deprecated bool   `json:"x_mitre_deprecated"`
			Shortname  string `json:"x_mitre_shortname"`
			Refs       []struct {
				Source string `json:"source_name"`
				ID     string `json:"external_id"`
				URL    string `json:"url"`
			} `json:"external_references"`
			Phases []struct {
				Chain string `json:"kill_chain_name"`
				Phase string `json:"phase_name"`
			} `json:"kill_chain_phases"`
		} `json:"objects"`
	}
	if err := json.Unmarshal(bundle, &b); err != nil {
		return nil, err
	}
	tactics := map[string]string{}
	for _, o := range b.Objects {
		if o.Type == "x-mitre-tactic" {
			tactics[o.Shortname] = o.Name
		}
	}
	var out []Technique
	for _, o := range b.Objects {
		if o.Type != "attack-pattern" || o.Revoked || o.Deprecated {
			continue
		}
		t := Technique{Name: o.Name, Tactics: []string{}}
		for _, r := range o.Refs {
			if r.Source == "mitre-attack" {
				t.ID, t.URL = r.ID, r.URL
			}
		}
		for _, p := range o.Phases {
			if p.Chain == "mitre-ics-attack" {
				t.Tactics = append(t.Tactics, tactics[p.Phase])
			}
		}
		out = append(out, t)
	}
	slices.SortFunc(out, func(a, b Technique) int { return strings.Compare(a.ID, b.ID) })
	js, err := json.MarshalIndent(out, "", " ")
	if err != nil {
		return nil, err
	}
	return append(js, '\n'), nil
}

func TestEmbedded(t *testing.T) {
	ts := ICS()
	// ATT&CK for ICS v18.1: 83 active techniques in 12 tactics.
	if len(ts) != 83 {
		t.Errorf("%d techniques, want 83", len(ts))
	}
	tactics := map[string]bool{}
	for i, x := range ts {
		if !strings.HasPrefix(x.ID, "T0") || len(x.ID) != 5 || x.Name == "" || !strings.HasPrefix(x.URL, "https://attack.mitre.org/techniques/") || len(x.Tactics) == 0 {
			t.Errorf("technique %d: %+v", i, x)
		}
		if i > 0 && ts[i-1].ID >= x.ID {
			t.Errorf("not sorted at %s", x.ID)
		}
		for _, tc := range x.Tactics {
			tactics[tc] = true
		}
	}
	if len(tactics) != 12 || !tactics["Inhibit Response Function"] {
		t.Errorf("%d tactics: %v", len(tactics), tactics)
	}
	if x, ok := Find("T0866"); !ok || x.Name != "Exploitation of Remote Services" {
		t.Errorf("T0866: %+v %v", x, ok)
	}
	if _, ok := Find("T9999"); ok {
		t.Error("found a technique that does not exist")
	}
}
