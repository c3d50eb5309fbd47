package web

import (
	"crypto/rand"
	"fmt"
	"html/template"
	"net/url"
	"strconv"
	"strings"
	"time"

	"bulwark/internal/citymodel"
)

// funcs are the few helpers templates may call; they format, never fetch.
var funcs = template.FuncMap{
	"num": func(n any) string {
		switch n := n.(type) {
		case int:
			return formatNumber(int64(n))
		case int64:
			return formatNumber(n)
		}
		return fmt.Sprint(n)
	},
	"levelClass": func(level string) string {
		if level == "" {
			return "lvl-none"
		}
		return "lvl-" + level
	},
	"levelText": func(level string) string {
		if level == "" {
			return "n/a"
		}
		return level
	},
	"ssvcClass": ssvcClass,
}

// ssvcClass is the CSS class of an SSVC decision chip: Act red, Attend
// orange, Track* yellow, Track grey.
func ssvcClass(decision string) string {
	switch decision {
	case "Act":
		return "ssvc ssvc-act"
	case "Attend":
		return "ssvc ssvc-attend"
	case "Track*":
		return "ssvc ssvc-trackstar"
	case "Track":
		return "ssvc ssvc-track"
	}
	return "ssvc ssvc-none"
}

// formatNumber writes n with thousands separators: 420000 -> "420,000".
func formatNumber(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// formatDuration writes d as the city-model format does; "" when not set.
func formatDuration(d time.Duration) string { return citymodel.FormatDuration(d) }

// urlQueryEscape escapes s for use as a query value.
func urlQueryEscape(s string) string { return url.QueryEscape(s) }

// pageURL is path with the non-empty filters of q and the keyset cursor.
func pageURL(path string, q url.Values, after string) string {
	v := url.Values{}
	for k, vals := range q {
		if k == "after" || len(vals) == 0 || vals[0] == "" {
			continue
		}
		v.Set(k, vals[0])
	}
	if after != "" {
		v.Set("after", after)
	}
	if len(v) == 0 {
		return path
	}
	return path + "?" + v.Encode()
}

// entityHref is the page of an entity of the given kind.
func entityHref(kind, id string) string {
	switch kind {
	case "service":
		return "/services/" + url.PathEscape(id)
	case "system":
		return "/systems/" + url.PathEscape(id)
	case "asset":
		return "/assets/" + url.PathEscape(id)
	}
	return ""
}

func randomKey() ([]byte, error) {
	k := make([]byte, 32)
	_, err := rand.Read(k)
	return k, err
}
