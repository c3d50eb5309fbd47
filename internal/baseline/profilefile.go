package baseline

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"go.yaml.in/yaml/v3"

	"bulwark"
	"bulwark/internal/yamlerr"
)

// MaxProfileBytes caps a profile file: a baseline is a page of
// requirements, not a catalog.
const MaxProfileBytes = 1 << 20

// profileFile is a profile as written by people, in YAML (or JSON, which
// YAML reads too).
type profileFile struct {
	ID           string            `yaml:"id"`
	Name         string            `yaml:"name"`
	Description  string            `yaml:"description"`
	Catalog      string            `yaml:"catalog"`
	AppliesTo    string            `yaml:"applies_to"`
	Requirements []requirementFile `yaml:"requirements"`
}

type requirementFile struct {
	Control   string `yaml:"control"`
	MinStatus string `yaml:"min_status"`
	MinTier   int    `yaml:"min_tier"`
}

// ParseProfile reads one profile document. Unknown fields, a second
// document and files over MaxProfileBytes are refused; errors name the
// file and the line. Whether the requirements make sense for the catalog
// is Service.PutProfile's check.
func ParseProfile(r io.Reader, name string) (*bulwark.Profile, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxProfileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if len(b) > MaxProfileBytes {
		return nil, bulwark.Errorf(bulwark.ETOOLARGE, "%s is larger than %d bytes", name, MaxProfileBytes)
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, bulwark.Errorf(bulwark.EINVALID, "%s is empty; expected a profile with id, name, catalog, applies_to and requirements", name)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var pf profileFile
	if err := dec.Decode(&pf); err != nil {
		return nil, bulwark.Errorf(bulwark.EINVALID, "%s: %s", name, yamlerr.Message(err))
	}
	var extra any
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, bulwark.Errorf(bulwark.EINVALID, "%s: one profile per file; a second document follows", name)
	}
	p := &bulwark.Profile{ID: pf.ID, Name: pf.Name, Description: pf.Description, Catalog: pf.Catalog, AppliesTo: pf.AppliesTo}
	for _, r := range pf.Requirements {
		p.Requirements = append(p.Requirements, bulwark.ProfileRequirement{Control: r.Control, MinStatus: bulwark.ImplStatus(r.MinStatus), MinTier: r.MinTier})
	}
	return p, nil
}
