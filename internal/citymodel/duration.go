package citymodel

import (
	"errors"
	"strconv"
	"strings"
	"time"
)

const day = 24 * time.Hour

// ParseDuration parses a duration as the city-model format writes it.
func ParseDuration(s string) (time.Duration, error) { return parseDuration(s) }

// FormatDuration writes d as the city-model format does ("1d12h", "1h30m"),
// and "" for zero (the format's "not set") or a negative value (never valid).
func FormatDuration(d time.Duration) string {
	if d <= 0 {
		return ""
	}
	return formatDuration(d)
}

// parseDuration parses a non-negative duration in Go syntax extended with a
// leading day unit: "3d", "1d12h", "90m", "1.5h". Days come first because
// that is how people write them and it keeps the canonical form unique.
func parseDuration(s string) (time.Duration, error) {
	if s == "" {
		return 0, errors.New("empty duration")
	}
	if strings.HasPrefix(s, "-") {
		return 0, errors.New("negative duration")
	}
	var days time.Duration
	if i := strings.IndexByte(s, 'd'); i >= 0 {
		n, err := strconv.ParseFloat(s[:i], 64)
		if err != nil || n < 0 || strings.ContainsAny(s[:i], "eE+-_") || n > 100000 {
			return 0, errors.New("bad day count")
		}
		days = time.Duration(n * float64(day))
		s = s[i+1:]
		if s == "" {
			return days, nil
		}
	}
	if strings.HasPrefix(s, "+") {
		return 0, errors.New("unexpected +")
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, errors.New("not a duration")
	}
	if d < 0 {
		return 0, errors.New("negative duration")
	}
	if d > time.Duration(1<<62)-days {
		return 0, errors.New("duration too long")
	}
	return days + d, nil
}

// formatDuration writes d in canonical form: largest units first, zero units
// left out ("1d12h", "1h30m", "45s", "1.5s" is written "1s500ms").
func formatDuration(d time.Duration) string {
	if d <= 0 {
		return "0s"
	}
	var b strings.Builder
	units := []struct {
		n    time.Duration
		name string
	}{{day, "d"}, {time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}, {time.Millisecond, "ms"}, {time.Microsecond, "us"}, {time.Nanosecond, "ns"}}
	for _, u := range units {
		if q := d / u.n; q > 0 {
			b.WriteString(strconv.FormatInt(int64(q), 10))
			b.WriteString(u.name)
			d -= q * u.n
		}
	}
	return b.String()
}
