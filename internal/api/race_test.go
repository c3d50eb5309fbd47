//go:build race

package api

// raceSlowdown scales time budgets in tests: the race detector slows code
// down several times.
const raceSlowdown = 8
