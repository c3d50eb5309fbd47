//go:build race

package taxii_test

// raceEnabled says the race detector is on: tests that only measure sizes
// (64 MiB bodies) skip, since the detector makes them minutes long and
// checks no concurrency there.
const raceEnabled = true
