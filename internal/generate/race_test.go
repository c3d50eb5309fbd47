//go:build race

package generate

// raceEnabled shrinks the largest test cities under the race detector,
// which slows the generator tenfold.
const raceEnabled = true
