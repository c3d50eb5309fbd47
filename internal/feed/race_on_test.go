//go:build race

package feed

// raceEnabled reports whether the race detector is on: the whole-data-set
// tests then take longer than a test timeout and are skipped.
const raceEnabled = true
