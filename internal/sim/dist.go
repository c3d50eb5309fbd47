package sim

import (
	"fmt"
	"math"

	"bulwark"
)

// Dist is a distribution of durations in hours, sampled by inversion (one
// uniform number per draw, so that scaling a distribution moves every draw
// the same way under common random numbers).
//
// Kinds:
//   - "" or "fixed": always Mode.
//   - "uniform": between Min and Max.
//   - "triangular": Min, Mode, Max.
//   - "lognormal": median Mode, shape Sigma (the standard deviation of the
//     log); Max, when positive, caps the draw.
type Dist struct {
	Kind  string  `json:"kind,omitempty" yaml:"kind,omitempty"`
	Min   float64 `json:"min,omitempty" yaml:"min,omitempty"`
	Mode  float64 `json:"mode,omitempty" yaml:"mode,omitempty"`
	Max   float64 `json:"max,omitempty" yaml:"max,omitempty"`
	Sigma float64 `json:"sigma,omitempty" yaml:"sigma,omitempty"`
}

// Fixed is a distribution that is always h hours.
func Fixed(h float64) Dist { return Dist{Kind: "fixed", Mode: h} }

// Triangular is the triangular distribution on [min, max] peaking at mode.
func Triangular(min, mode, max float64) Dist {
	return Dist{Kind: "triangular", Min: min, Mode: mode, Max: max}
}

// LogNormal has the given median and log standard deviation.
func LogNormal(median, sigma float64) Dist {
	return Dist{Kind: "lognormal", Mode: median, Sigma: sigma}
}

// Validate checks the parameters; where names the distribution in errors.
func (d Dist) Validate(where string) error {
	bad := func(why string) error {
		return bulwark.Errorf(bulwark.EINVALID, "%s: %s distribution %s", where, kindName(d.Kind), why)
	}
	for _, v := range []float64{d.Min, d.Mode, d.Max, d.Sigma} {
		if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			return bad("has a negative or non-finite parameter")
		}
	}
	switch d.Kind {
	case "", "fixed":
	case "uniform":
		if d.Min > d.Max {
			return bad(fmt.Sprintf("has min %g above max %g", d.Min, d.Max))
		}
	case "triangular":
		if !(d.Min <= d.Mode && d.Mode <= d.Max) {
			return bad(fmt.Sprintf("needs min ≤ mode ≤ max, got %g, %g, %g", d.Min, d.Mode, d.Max))
		}
	case "lognormal":
		if d.Mode <= 0 {
			return bad("needs a positive median (mode)")
		}
	default:
		return bulwark.Errorf(bulwark.EINVALID, "%s: unknown distribution kind %q (want fixed, uniform, triangular or lognormal)", where, d.Kind)
	}
	return nil
}

func kindName(k string) string {
	if k == "" {
		return "fixed"
	}
	return k
}

// Quantile returns the u-quantile, 0 < u < 1.
func (d Dist) Quantile(u float64) float64 {
	switch d.Kind {
	case "uniform":
		return d.Min + u*(d.Max-d.Min)
	case "triangular":
		a, c, b := d.Min, d.Mode, d.Max
		if b <= a {
			return a
		}
		f := (c - a) / (b - a)
		if u < f {
			return a + math.Sqrt(u*(b-a)*(c-a))
		}
		return b - math.Sqrt((1-u)*(b-a)*(b-c))
	case "lognormal":
		v := d.Mode * math.Exp(d.Sigma*normalQuantile(u))
		if d.Max > 0 {
			v = min(v, d.Max)
		}
		return v
	default:
		return d.Mode
	}
}

// Scale multiplies every time parameter by f (Sigma, a shape, is kept).
func (d Dist) Scale(f float64) Dist {
	d.Min *= f
	d.Mode *= f
	d.Max *= f
	return d
}

// Mean is the distribution's mean (lognormal: without the cap).
func (d Dist) Mean() float64 {
	switch d.Kind {
	case "uniform":
		return (d.Min + d.Max) / 2
	case "triangular":
		return (d.Min + d.Mode + d.Max) / 3
	case "lognormal":
		return d.Mode * math.Exp(d.Sigma*d.Sigma/2)
	default:
		return d.Mode
	}
}
