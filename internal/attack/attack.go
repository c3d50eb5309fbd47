// Package attack holds the MITRE ATT&CK for ICS techniques bundled with
// Bulwark, so that risks can name the threat behind them by technique ID
// offline. Only each technique's ID, name, tactics and page address are
// kept (data/ics-techniques.json), generated from MITRE's STIX bundle by
// this package's test:
//
//	go test ./internal/attack -run TestUpdateTechniques -args -update-attack
//
// © 2025 The MITRE Corporation. This work is reproduced and distributed
// with the permission of The MITRE Corporation (data/LICENSE-ATTACK.txt).
package attack

import (
	_ "embed"
	"encoding/json"
	"slices"
	"strings"
	"sync"
)

// Technique is one ATT&CK technique.
type Technique struct {
	ID      string   `json:"id"` // "T0866"
	Name    string   `json:"name"`
	Tactics []string `json:"tactics"` // tactic names, e.g. "Initial Access"
	URL     string   `json:"url"`
}

//go:embed data/ics-techniques.json
var icsJSON []byte

var (
	once sync.Once
	ics  []Technique
)

// ICS returns the ATT&CK for ICS techniques by ID. The slice is shared:
// callers must not change it.
func ICS() []Technique {
	once.Do(func() {
		if err := json.Unmarshal(icsJSON, &ics); err != nil {
			// The file is generated and tested with the package.
			panic("attack: embedded techniques: " + err.Error())
		}
	})
	return ics
}

// Find returns the technique with the given ID.
func Find(id string) (Technique, bool) {
	ts := ICS()
	i, ok := slices.BinarySearchFunc(ts, id, func(t Technique, id string) int { return strings.Compare(t.ID, id) })
	if !ok {
		return Technique{}, false
	}
	return ts[i], true
}
