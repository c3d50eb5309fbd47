//go:build race

package stix

// raceEnabled reports whether the race detector is on: it slows the
// decoder about tenfold, so time bounds stretch accordingly.
const raceEnabled = true
