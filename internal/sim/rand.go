package sim

import (
	"math"
	"math/bits"
)

// Random streams. Every draw of a trial is a pure function of (seed, trial,
// stream, key): no generator state is carried from one draw to the next.
// So results do not depend on which worker runs a trial or in what order a
// trial consumes draws, and a model changed by an investment option sees
// the very same draw for the same node in the same trial (common random
// numbers), which makes paired comparisons sharp.
const (
	streamProb     = 1 // per event: the probability, when uncertain
	streamStart    = 2 // per event: start time
	streamDuration = 3 // per event: outage duration (external restoration)
	streamJoint    = 4 // per event: the one draw of a joint (all or nothing) event
	streamHit      = 5 // per (event, node): whether the node is hit
	streamRestore  = 6 // per (node, event): restore time
)

// mix is the SplitMix64 finalizer: a bijection of 64-bit values whose
// outputs pass the usual statistical test batteries for sequential inputs.
func mix(z uint64) uint64 {
	z ^= z >> 30
	z *= 0xbf58476d1ce4e5b9
	z ^= z >> 27
	z *= 0x94d049bb133111eb
	z ^= z >> 31
	return z
}

// trialBase is the per-trial root of all draws, computed once per trial.
func trialBase(seed uint64, trial int) uint64 {
	return mix(mix(seed^0x9e3779b97f4a7c15) ^ uint64(trial)*0xd1b54a32d192ed03)
}

// draw returns a uniform number in (0, 1) for the given coordinates of the
// trial whose base is b.
func draw(b uint64, stream uint64, key uint64) float64 {
	h := mix(mix(b^stream*0x8cb92ba72f3d8dd7^bits.RotateLeft64(key, 17)) + key)
	// 53 random bits, shifted off zero so that log and inverse CDFs stay
	// finite.
	return (float64(h>>11) + 0.5) / (1 << 53)
}

// normalQuantile is the standard normal inverse CDF.
func normalQuantile(u float64) float64 { return math.Sqrt2 * math.Erfinv(2*u-1) }
