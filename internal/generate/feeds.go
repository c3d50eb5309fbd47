package generate

import (
	"embed"
	"io/fs"
)

//go:embed feeds/*.gz feeds/csaf/*.gz
var demoFeeds embed.FS

// DemoFeeds is the embedded feed snapshot for the demo city (see
// feeds/README.md for what it holds and where each file comes from):
// NVD records naming the demo's products, the KEV catalog, and CISA CSAF
// advisories. Paths are relative to the snapshot's root.
func DemoFeeds() fs.FS {
	sub, err := fs.Sub(demoFeeds, "feeds")
	if err != nil {
		panic(err) // the embedded directory is part of the binary
	}
	return sub
}
