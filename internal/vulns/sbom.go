package vulns

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"path/filepath"
	"slices"

	"bulwark"
	"bulwark/internal/sbom"
)

// AttachSBOM reads a CycloneDX document (JSON or XML, size-capped) and
// attaches it to an asset the caller owns, replacing any earlier one. Its
// components are matched with the asset from the next run on (this call
// re-matches the asset's vulnerabilities at once when the caller may run
// matching); its VEX "not affected" statements suppress findings.
func (s *Service) AttachSBOM(ctx context.Context, assetID, name string, r io.Reader) (*bulwark.SBOM, []bulwark.Problem, error) {
	h := sha256.New()
	bom, err := sbom.Read(name, io.TeeReader(r, h), sbom.Options{})
	if err != nil {
		return nil, nil, err
	}
	out := &bulwark.SBOM{AssetID: assetID, Document: filepath.Base(name), Serial: bom.SerialNumber, SpecVersion: bom.SpecVersion,
		Hash: hex.EncodeToString(h.Sum(nil))}
	for _, c := range bom.Components {
		out.Components = append(out.Components, bulwark.Component{Ref: c.Ref, Type: c.Type, Group: c.Group, Name: c.Name,
			Version: c.Version, CPE: c.CPE, PURL: c.PURL, Supplier: c.Supplier})
	}
	for _, v := range bom.VEX {
		if v.Status == bulwark.StatusNotAffected && v.VulnID != "" && !slices.Contains(out.NotAffected, v.VulnID) {
			out.NotAffected = append(out.NotAffected, v.VulnID)
		}
	}
	if err := s.st.PutSBOM(ctx, out); err != nil {
		return nil, bom.Notes, err
	}
	return out, bom.Notes, nil
}

// withSBOM returns a copy of a whose identifiers include those of its
// SBOM's components: software on a device is part of the platform NVD's
// configurations are evaluated against.
func withSBOM(a bulwark.Asset, s *bulwark.SBOM) bulwark.Asset {
	if s == nil {
		return a
	}
	a.CPEs = slices.Clone(a.CPEs)
	a.PURLs = slices.Clone(a.PURLs)
	for _, c := range s.Components {
		if c.CPE != "" && !slices.Contains(a.CPEs, c.CPE) {
			a.CPEs = append(a.CPEs, c.CPE)
		}
		if c.PURL != "" && !slices.Contains(a.PURLs, c.PURL) {
			a.PURLs = append(a.PURLs, c.PURL)
		}
	}
	return a
}
