package generate

import "bulwark"

// Demo city parameters. The demo is Generate with these options; the
// system templates are tuned so that its dependency graph shows the single
// points of failure a city should find: feeder H1 powers both redundant
// pumps of the main pumping station (a common-mode failure), one core
// switch carries the city network, and one CAD application server carries
// 911 dispatch.
const (
	DemoSeed   = 20261122
	DemoAssets = 10000
)

// Demo streams the bundled demo city, Port Halden, a fictional mid-size
// port city, in the same chunks as Generate.
func Demo(emit func(chunk *bulwark.City) error) error {
	return Generate(Options{Assets: DemoAssets, Seed: DemoSeed, Name: DefaultName}, emit)
}
