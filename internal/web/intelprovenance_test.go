package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"bulwark"
	"bulwark/internal/sharing"
	"bulwark/internal/stix"
	"bulwark/internal/web/webtest"
)

// addFrom adds an indicator named name as alice through source (TAXII
// POST, a feed, an import) with the given TLP marking id.
func (e *intelEnv) addFrom(source, name, markingID string) string {
	e.t.Helper()
	ctx, _ := e.userCtx("alice@water.example")
	id := "indicator--" + uuid.NewString()
	ts := stix.FormatTimestamp(time.Now())
	o, err := stix.ParseObject([]byte(fmt.Sprintf(`{"type":"indicator","spec_version":"2.1","id":%q,"created":%q,"modified":%q,"name":%q,`+
		`"pattern":"[ipv4-addr:value = '198.51.100.9']","pattern_type":"stix","valid_from":%q,"object_marking_refs":[%q]}`, id, ts, ts, name, ts, markingID)), stix.Limits{})
	if err != nil {
		e.t.Fatal(err)
	}
	if st, err := e.sh.AddObjects(ctx, e.metroCol, []*stix.Object{o}, sharing.AddOptions{Source: source}); err != nil || len(st.Failures) > 0 {
		e.t.Fatalf("add %s from %s: %v %+v", name, source, err, st)
	}
	return id
}

// TestIntelProvenance: the list shows where each object came from and
// from whom, sums it up per source and publisher, and filters by either;
// the source of an object the reader may not see appears nowhere, not in
// the summary, the choices or a filtered list.
func TestIntelProvenance(t *testing.T) {
	e := newIntelEnv(t)
	e.publish(e.metroCol, "published-obj", "", bulwark.TLPGreen, nil, nil)
	fed := e.addFrom("feed:partner-isac", "fed-obj", stix.TLPGreenID)
	e.addFrom("feed:partner-isac", "fed-obj-2", stix.TLPGreenID)
	e.addFrom("feed:secret-source", "secret-obj", stix.TLPAmberStrictID) // water only
	// A payload as a source name is text.
	payload := webtest.Payloads()[0]
	e.addFrom("import:"+payload, "imported-obj", stix.TLPClearID)

	bob := e.loggedIn("bob@port.example")
	res, body := e.get(bob, "/intel?c="+e.metroCol)
	if res.StatusCode != 200 {
		t.Fatalf("%d", res.StatusCode)
	}
	for _, s := range []string{`id="intel-provenance"`, ">feed:partner-isac<", ">publish<", `<meter min="0" max="4" value="2"`, `id="filter-source"`} {
		if !strings.Contains(body, s) {
			t.Errorf("port's list lacks %s", s)
		}
	}
	if strings.Contains(body, "secret") || strings.Contains(body, payload) {
		t.Error("port's list names the hidden source, or shows the payload unescaped")
	}
	// The row of the fed object names its source.
	if i := strings.Index(body, fed); i < 0 || !strings.Contains(body[i:min(len(body), i+400)], "<td>feed:partner-isac</td>") {
		t.Error("the fed object's row does not show its source")
	}

	for _, tc := range []struct {
		name, query string
		see, hide   []string
	}{
		{"by source", "source=feed:partner-isac", []string{"fed-obj", "fed-obj-2"}, []string{"published-obj", "imported-obj"}},
		{"by publisher", "publisher=" + webtest.OrgWater, []string{"fed-obj", "published-obj", "imported-obj"}, nil},
		{"a source port may not see", "source=feed:secret-source", nil, []string{"secret-obj", "fed-obj", "published-obj"}},
		{"an unknown publisher", "publisher=nobody", nil, []string{"fed-obj", "published-obj"}},
	} {
		res, body := e.get(bob, "/intel?c="+e.metroCol+"&"+tc.query)
		if res.StatusCode != 200 {
			t.Errorf("%s: %d", tc.name, res.StatusCode)
			continue
		}
		for _, n := range tc.see {
			if !strings.Contains(body, ">"+n+"<") {
				t.Errorf("%s: %s missing", tc.name, n)
			}
		}
		for _, n := range tc.hide {
			if strings.Contains(body, ">"+n+"<") {
				t.Errorf("%s: %s listed", tc.name, n)
			}
		}
		if strings.Contains(body, "secret-obj") {
			t.Errorf("%s: the hidden object shows", tc.name)
		}
	}
	// The hidden object's filter answers exactly like an unknown source.
	_, hidden := e.get(bob, "/intel?c="+e.metroCol+"&source=feed:secret-source")
	_, unknown := e.get(bob, "/intel?c="+e.metroCol+"&source=feed:nothing-here")
	if strings.ReplaceAll(hidden, "secret-source", "X") != strings.ReplaceAll(unknown, "nothing-here", "X") {
		t.Error("a hidden source's filter answers differently from an unknown one")
	}
	// Alice (water) sees the secret feed in her summary.
	alice := e.loggedIn("alice@water.example")
	if _, body := e.get(alice, "/intel?c="+e.metroCol); !strings.Contains(body, ">feed:secret-source<") {
		t.Error("water's summary lacks its own AMBER+STRICT feed")
	}
	// The object page shows the source, as do its versions.
	if _, page := e.get(bob, "/intel/objects/"+e.metroCol+"/"+fed); strings.Count(page, "feed:partner-isac") < 2 {
		t.Error("the object page does not show the source of the object and its version")
	}
	// Hostile filters.
	long := strings.Repeat("x", 300)
	if res, _ := e.get(bob, "/intel?c="+e.metroCol+"&source="+long); res.StatusCode != http.StatusBadRequest {
		t.Errorf("an oversized source: %d", res.StatusCode)
	}
	if res, body := e.get(bob, "/intel?c="+e.metroCol+"&source="+url.QueryEscape(payload)); res.StatusCode != 200 || strings.Contains(body, payload) {
		t.Errorf("a payload as a filter: %d, unescaped: %v", res.StatusCode, strings.Contains(body, payload))
	}
	// An outsider: the collection is unknown, with or without a filter.
	carol := e.loggedIn("bob@port.example")
	if res, _ := e.get(carol, "/intel?c="+e.privCol+"&source=publish"); res.StatusCode != http.StatusNotFound {
		t.Errorf("outsider filters a hidden collection: %d", res.StatusCode)
	}
}
