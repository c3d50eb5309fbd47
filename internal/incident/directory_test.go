package incident

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"bulwark"
)

const directoryYAML = `organization: city-water
contacts:
  - name: Ana Ortiz
    email: ana.ortiz@example.org
    phone: "+1 555 0100"
    roles: [incident-commander, ot-engineering]
    on_call:
      - {days: mon-fri, from: "08:00", to: "18:00", tz: America/New_York}
  - name: Ben Okafor
    email: ben.okafor@example.org
    roles: [ot-engineering]
    on_call:
      - {days: mon-fri, from: "18:00", to: "08:00", tz: America/New_York}
      - {days: "sat,sun", from: "00:00", to: "24:00", tz: America/New_York}
  - name: Water desk
    phone: "+1 555 0199"
`

func TestDirectoryOnCall(t *testing.T) {
	d, err := ParseDirectory(strings.NewReader(directoryYAML), "dir.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if d.Org != "city-water" || len(d.Contacts) != 3 || len(d.Contacts[1].OnCall) != 2 {
		t.Fatalf("parsed %+v", d)
	}
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	names := func(cs []bulwark.OnCallContact) string {
		var s []string
		for _, c := range cs {
			s = append(s, c.Name)
		}
		return strings.Join(s, ", ")
	}
	// 2030-03-04 is a Monday.
	for _, tc := range []struct {
		at   time.Time
		role string
		want string
	}{
		{time.Date(2030, 3, 4, 9, 0, 0, 0, ny), "incident-commander", "Ana Ortiz"},
		{time.Date(2030, 3, 4, 9, 0, 0, 0, ny), "ot-engineering", "Ana Ortiz"},
		{time.Date(2030, 3, 4, 17, 59, 0, 0, ny), "", "Ana Ortiz"},
		{time.Date(2030, 3, 4, 18, 0, 0, 0, ny), "ot-engineering", "Ben Okafor"},
		// Nobody fills the role at night: whoever is on call.
		{time.Date(2030, 3, 4, 23, 0, 0, 0, ny), "incident-commander", "Ben Okafor"},
		// The overnight shift of Friday runs into Saturday morning, and the
		// weekend shift covers the rest.
		{time.Date(2030, 3, 9, 7, 0, 0, 0, ny), "ot-engineering", "Ben Okafor"},
		{time.Date(2030, 3, 10, 12, 0, 0, 0, ny), "", "Ben Okafor"},
		// Monday 07:00: the overnight shift starts on weekdays only, so
		// Sunday night is not covered, and the weekend shift ended at
		// 24:00: nobody.
		{time.Date(2030, 3, 11, 7, 0, 0, 0, ny), "", ""},
		// The same instant seen from UTC.
		{time.Date(2030, 3, 4, 14, 0, 0, 0, time.UTC), "", "Ana Ortiz"},
	} {
		if got := names(OnCall(d, tc.role, tc.at)); got != tc.want {
			t.Errorf("%s role %q: %q, want %q", tc.at.Format(time.RFC3339), tc.role, got, tc.want)
		}
	}
	if OnCall(nil, "", time.Now()) != nil {
		t.Error("nil directory")
	}
}

func TestParseDirectoryErrors(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		want      []string
	}{
		{"bad days", strings.Replace(directoryYAML, "days: mon-fri, from: \"08:00\"", "days: weekdays, from: \"08:00\"", 1),
			[]string{`dir.yaml:8:9: contacts[0].on_call[0]: days "weekdays": use days like mon-fri, sat,sun or daily`}},
		{"bad time", strings.Replace(directoryYAML, `to: "18:00", tz`, `to: "25:00", tz`, 1),
			[]string{`dir.yaml:8:9: contacts[0].on_call[0]: to "25:00": use HH:MM from 00:00 to 24:00`}},
		{"bad zone", strings.Replace(directoryYAML, "tz: America/New_York}\n  - name: Ben", "tz: Mars/Olympus}\n  - name: Ben", 1),
			[]string{`dir.yaml:8:9: contacts[0].on_call[0]: tz "Mars/Olympus" is not a time zone (use an IANA name such as America/New_York)`}},
		{"no way to reach", strings.Replace(directoryYAML, "    phone: \"+1 555 0199\"\n", "", 1),
			[]string{`dir.yaml:15:5: contacts[2]: give an e-mail address or a phone number`}},
		{"bad e-mail", strings.Replace(directoryYAML, "ana.ortiz@example.org", "ana ortiz", 1),
			[]string{`dir.yaml:4:12: contacts[0].email: "ana ortiz" is not an e-mail address`}},
		{"unknown field", directoryYAML + "pager: 5\n", []string{`dir.yaml:17:1: pager: unknown field "pager" (fields here: organization, contacts)`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseDirectory(strings.NewReader(tc.src), "dir.yaml")
			if got := strings.Join(problems(err), "\n"); got != strings.Join(tc.want, "\n") {
				t.Errorf("problems:\n%s\nwant:\n%s", got, strings.Join(tc.want, "\n"))
			}
		})
	}
}

func TestCheckShift(t *testing.T) {
	for _, s := range []bulwark.Shift{{Days: "daily", From: "00:00", To: "24:00"}, {Days: "sun-sat", From: "22:00", To: "06:00", TZ: "Europe/Berlin"}, {Days: "fri-mon", From: "08:00", To: "09:00"}} {
		if why := CheckShift(s); why != "" {
			t.Errorf("%+v: %s", s, why)
		}
	}
	for _, s := range []bulwark.Shift{{Days: "mon", From: "08:00", To: "08:00"}, {Days: "mon", From: "8:00", To: "09:00"}, {Days: "mon", From: "08:00", To: "09:00", TZ: "../../etc/passwd"}, {Days: "", From: "08:00", To: "09:00"}} {
		if CheckShift(s) == "" {
			t.Errorf("%+v accepted", s)
		}
	}
}

func FuzzParseDirectory(f *testing.F) {
	f.Add([]byte(directoryYAML))
	f.Add([]byte("organization: x\ncontacts: []\n"))
	f.Add([]byte("organization: x\ncontacts: [{name: a, phone: '1', on_call: [{days: 'sat-mon', from: '23:00', to: '01:00'}]}]\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := ParseDirectory(bytes.NewReader(b), "f.yaml")
		if err != nil {
			if c := bulwark.ErrorCode(err); c != bulwark.EINVALID && c != bulwark.ETOOLARGE {
				t.Fatalf("code %s: %v", c, err)
			}
			return
		}
		for _, c := range d.Contacts {
			for _, s := range c.OnCall {
				if why := CheckShift(s); why != "" {
					t.Fatalf("accepted a bad shift %+v: %s", s, why)
				}
				Covers(s, time.Unix(1_900_000_000, 0))
			}
		}
	})
}
