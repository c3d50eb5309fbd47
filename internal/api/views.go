package api

import "bulwark"

// The functions below give other front ends (the CLI's --json output) the
// API's JSON shapes, so that a listing looks the same wherever it comes from.

// OrganizationJSON is the API's JSON shape of an organization.
func OrganizationJSON(o *bulwark.Organization) any { return toOrganization(o) }

// ServiceJSON is the API's JSON shape of a service.
func ServiceJSON(s *bulwark.Service) any { return toService(s) }

// SystemJSON is the API's JSON shape of a system.
func SystemJSON(s *bulwark.System) any { return toSystem(s) }

// AssetJSON is the API's JSON shape of an asset.
func AssetJSON(a *bulwark.Asset) any { return toAsset(a) }
