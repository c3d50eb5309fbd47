package incident

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // on-call shifts name IANA zones; the binary must not depend on the host's

	"go.yaml.in/yaml/v3"

	"bulwark"
	"bulwark/internal/yamlerr"
)

var dayNames = []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// parseDays reads "mon-fri", "sat,sun", "daily" into a set of weekdays.
func parseDays(s string) ([7]bool, error) {
	var set [7]bool
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "daily" || s == "every day" {
		for i := range set {
			set[i] = true
		}
		return set, nil
	}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		a, b, rng := strings.Cut(part, "-")
		from := slices.Index(dayNames, strings.TrimSpace(a))
		to := from
		if rng {
			to = slices.Index(dayNames, strings.TrimSpace(b))
		}
		if from < 0 || to < 0 {
			return set, fmt.Errorf("%q: use days like mon-fri, sat,sun or daily", yamlerr.Clip(s))
		}
		for d := from; ; d = (d + 1) % 7 {
			set[d] = true
			if d == to {
				break
			}
		}
	}
	return set, nil
}

// parseClock reads "HH:MM" (00:00 to 24:00) as minutes.
func parseClock(s string) (int, error) {
	h, m, ok := strings.Cut(s, ":")
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if !ok || err1 != nil || err2 != nil || len(h) != 2 || len(m) != 2 || hh < 0 || mm < 0 || mm > 59 || hh > 24 || hh == 24 && mm != 0 {
		return 0, fmt.Errorf("%q: use HH:MM from 00:00 to 24:00", yamlerr.Clip(s))
	}
	return hh*60 + mm, nil
}

// CheckShift reports what is wrong with a shift, "" when nothing.
func CheckShift(s bulwark.Shift) string {
	if _, err := parseDays(s.Days); err != nil {
		return "days " + err.Error()
	}
	from, err := parseClock(s.From)
	if err != nil {
		return "from " + err.Error()
	}
	to, err := parseClock(s.To)
	if err != nil {
		return "to " + err.Error()
	}
	if from == to {
		return "from and to are equal: an empty shift"
	}
	if s.TZ != "" {
		if _, err := time.LoadLocation(s.TZ); err != nil || strings.HasPrefix(s.TZ, "/") || strings.Contains(s.TZ, "..") {
			return fmt.Sprintf("tz %q is not a time zone (use an IANA name such as America/New_York)", yamlerr.Clip(s.TZ))
		}
	}
	return ""
}

// Covers reports whether the shift covers t. A shift whose end is before
// its start runs past midnight into the next day.
func Covers(s bulwark.Shift, t time.Time) bool {
	days, err := parseDays(s.Days)
	if err != nil {
		return false
	}
	from, err1 := parseClock(s.From)
	to, err2 := parseClock(s.To)
	if err1 != nil || err2 != nil {
		return false
	}
	loc := time.UTC
	if s.TZ != "" {
		if l, err := time.LoadLocation(s.TZ); err == nil {
			loc = l
		} else {
			return false
		}
	}
	lt := t.In(loc)
	m := lt.Hour()*60 + lt.Minute()
	wd := int(lt.Weekday())
	if from < to {
		return days[wd] && m >= from && m < to
	}
	// Overnight: the evening part on a listed day, the morning part on
	// the day after a listed day.
	return days[wd] && m >= from || days[(wd+6)%7] && m < to
}

// OnCall returns the contacts of d on call at t who fill role; when none
// fills it, every contact on call (someone must pick up). Order is the
// directory's.
func OnCall(d *bulwark.Directory, role string, t time.Time) []bulwark.OnCallContact {
	if d == nil {
		return nil
	}
	var all, withRole []bulwark.OnCallContact
	for _, c := range d.Contacts {
		on := false
		for _, s := range c.OnCall {
			on = on || Covers(s, t)
		}
		if !on {
			continue
		}
		all = append(all, c)
		if role != "" && slices.Contains(c.Roles, role) {
			withRole = append(withRole, c)
		}
	}
	if len(withRole) > 0 {
		return withRole
	}
	return all
}

// ParseDirectory reads an organization's directory file:
//
//	organization: city-water
//	contacts:
//	  - name: Ana Ortiz
//	    email: ana.ortiz@example.org
//	    phone: "+1 555 0100"
//	    roles: [incident-commander, ot-engineering]
//	    on_call:
//	      - {days: mon-fri, from: "08:00", to: "18:00", tz: America/New_York}
//
// Every problem is reported with its line and field.
func ParseDirectory(r io.Reader, name string) (*bulwark.Directory, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	root, err := readOne(bytes.NewReader(b), name, "directory")
	if err != nil {
		return nil, err
	}
	d := &doc{file: name}
	dir := &bulwark.Directory{}
	d.fields(root, "", []string{"organization", "contacts"}, []string{"organization", "contacts"}, func(key string, v *yaml.Node, p string) {
		switch key {
		case "organization":
			dir.Org = d.id(v, p)
		case "contacts":
			d.list(v, p, func(_ int, cn *yaml.Node, cp string) {
				var c bulwark.OnCallContact
				d.fields(cn, cp, []string{"name", "email", "phone", "roles", "on_call"}, []string{"name"}, func(key string, v *yaml.Node, fp string) {
					switch key {
					case "name":
						c.Name = d.required(v, fp, maxShort)
					case "email":
						c.Email = d.text(v, fp, 254)
						if c.Email != "" && (!strings.Contains(c.Email, "@") || strings.ContainsAny(c.Email, " <>\"")) {
							d.bad(v, fp, "%q is not an e-mail address", yamlerr.Clip(c.Email))
						}
					case "phone":
						c.Phone = d.text(v, fp, 40)
					case "roles":
						c.Roles = d.ids(v, fp)
					case "on_call":
						d.list(v, fp, func(_ int, sn *yaml.Node, sp string) {
							var s bulwark.Shift
							d.fields(sn, sp, []string{"days", "from", "to", "tz"}, []string{"days", "from", "to"}, func(key string, v *yaml.Node, fp string) {
								switch key {
								case "days":
									s.Days = d.text(v, fp, 60)
								case "from":
									s.From = d.text(v, fp, 5)
								case "to":
									s.To = d.text(v, fp, 5)
								case "tz":
									s.TZ = d.text(v, fp, 64)
								}
							})
							if s.Days != "" && s.From != "" && s.To != "" {
								if why := CheckShift(s); why != "" {
									d.bad(sn, sp, "%s", why)
								}
							}
							c.OnCall = append(c.OnCall, s)
						})
					}
				})
				if c.Email == "" && c.Phone == "" && cn.Kind == yaml.MappingNode {
					d.bad(cn, cp, "give an e-mail address or a phone number")
				}
				dir.Contacts = append(dir.Contacts, c)
			})
		}
	})
	if err := d.err("directory"); err != nil {
		return nil, err
	}
	return dir, nil
}
