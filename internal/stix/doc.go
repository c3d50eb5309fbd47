// Package stix reads and writes STIX 2.1, the OASIS language for cyber threat
// intelligence, as a pure format package: no storage, no HTTP.
//
// Objects are kept losslessly (Object holds the canonical JSON of every
// property, custom ones and extensions included, next to the parsed common
// properties), so that what a partner sent can be re-published byte for byte
// in canonical form. DecodeBundle and DecodeObject read strictly: duplicate
// member names and names that differ only in case are errors at any depth,
// never merged as Go's encoding/json would; input size, nesting, object
// counts, string lengths and container sizes are capped (Limits). Bundles are
// imported tolerantly (valid objects in, each rejected one reported with its
// reasons and JSON pointers), STIX 2.0 objects are upgraded where trivial.
//
// Markings: the five TLP 2.0 marking-definitions with their published ids,
// TLP 1.0 ids read as their TLP 2.0 equivalent, and MarkingOf, the effective
// TLP of an object (most restrictive; unknown markings count as RED). Who may
// see what is decided elsewhere.
//
// Identifiers: DeterministicID (UUIDv5 in Bulwark's namespace) for objects
// Bulwark produces from its own records, so that re-publishing yields a new
// version rather than a duplicate; ObservableID for cyber-observables as the
// specification defines. Builders (NewVulnerability, NewIdentity...) make
// the objects Bulwark publishes; every one validates against the OASIS STIX
// 2.1 JSON schemas (tested). See docs/stix.md.
package stix
