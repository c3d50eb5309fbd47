package main

import (
	"math"
	"math/bits"
	"time"
)

// Histogram counts latencies in log-linear buckets, as HdrHistogram does:
// values below 2*subCount nanoseconds each have their own bucket, and every
// power of two above is cut into subCount equal buckets. So a recorded value
// is known to within 1/subCount (0.8%) of itself, from a microsecond to
// hours, in a fixed array of about 7,400 counters.
//
// Why not keep every sample and sort? A histogram costs no allocation on the
// hot path (the client's own garbage collector would otherwise add pauses to
// the latencies it measures, on the same two cores as the server), its size
// does not grow with the run, and the histograms of the workers merge by
// adding counters. Why not a library? The load generator stays standard
// library only, and this is forty lines.
type Histogram struct {
	counts [numBuckets]uint64
	n      uint64
	sum    float64 // nanoseconds, for the mean
	min    int64
	max    int64
}

const (
	subBits    = 7
	subCount   = 1 << subBits
	numBuckets = (64-subBits-1)*subCount + 2*subCount
)

// bucketOf returns the bucket of v >= 0: the exponent e shifts v so that
// its top subBits+1 bits remain, which select one of subCount buckets of
// the power of two [2^(e+subBits), 2^(e+subBits+1)).
func bucketOf(v int64) int {
	u := uint64(max(v, 0))
	e := max(bits.Len64(u)-subBits-1, 0)
	return e*subCount + int(u>>e)
}

// bucketHigh is the highest value that falls in bucket i.
func bucketHigh(i int) int64 {
	if i < 2*subCount {
		return int64(i)
	}
	e := i/subCount - 1
	m := uint64(i - e*subCount)
	hi := (m+1)<<e - 1
	if hi > math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(hi)
}

// Record adds one latency.
func (h *Histogram) Record(d time.Duration) {
	v := max(int64(d), 0)
	h.counts[bucketOf(v)]++
	if h.n == 0 || v < h.min {
		h.min = v
	}
	if v > h.max {
		h.max = v
	}
	h.n++
	h.sum += float64(v)
}

// Merge adds o's counts to h.
func (h *Histogram) Merge(o *Histogram) {
	if o.n == 0 {
		return
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	if h.n == 0 || o.min < h.min {
		h.min = o.min
	}
	h.max = max(h.max, o.max)
	h.n += o.n
	h.sum += o.sum
}

// Count is the number of recorded values.
func (h *Histogram) Count() uint64 { return h.n }

// Max is the largest recorded value, exactly.
func (h *Histogram) Max() time.Duration { return time.Duration(h.max) }

// Mean is the mean of the recorded values.
func (h *Histogram) Mean() time.Duration {
	if h.n == 0 {
		return 0
	}
	return time.Duration(h.sum / float64(h.n))
}

// Quantile returns the value at or below which a fraction q (0..1] of the
// recorded values fall: the upper bound of the bucket holding the value of
// rank ceil(q*n), capped at the exact maximum. Reporting the bucket's upper
// bound errs on the slow side, never the fast one.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	rank = min(max(rank, 1), h.n)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return time.Duration(min(bucketHigh(i), h.max))
		}
	}
	return time.Duration(h.max)
}
