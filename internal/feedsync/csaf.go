package feedsync

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"bulwark"
)

// Caps for CSAF documents: a .sha256/.sha512 file holds one digest and a
// file name; provider metadata a few distributions and keys, but a ROLIE
// feed may be given in its place (CISA's lists 2,300 advisories in 2.5 MB).
const (
	maxHashBytes     = 4 << 10
	maxProviderBytes = 64 << 20
)

// advisoryEntry is one advisory a ROLIE feed or a directory lists.
type advisoryEntry struct {
	ID      string
	URL     string
	HashURL string // a linked .sha256/.sha512, empty if none
	// probeHash: no hash is linked (directory distributions); try
	// URL.sha512 then URL.sha256 and verify what exists.
	probeHash bool
	Updated   time.Time
}

// providerMetadata is the part of CSAF 2.0 provider-metadata.json
// (§7.1.20) that says where advisories are.
type providerMetadata struct {
	Distributions []struct {
		DirectoryURL string `json:"directory_url"`
		Rolie        *struct {
			Feeds []struct {
				TLPLabel string `json:"tlp_label"`
				URL      string `json:"url"`
			} `json:"feeds"`
		} `json:"rolie"`
	} `json:"distributions"`
	Publisher struct {
		Name string `json:"name"`
	} `json:"publisher"`
}

// rolieFeed is the part of a ROLIE feed document the sync reads.
type rolieFeed struct {
	Feed *struct {
		Entry []struct {
			ID      string `json:"id"`
			Updated string `json:"updated"`
			Link    []struct {
				Rel  string `json:"rel"`
				Href string `json:"href"`
			} `json:"link"`
			Content struct {
				Src string `json:"src"`
			} `json:"content"`
		} `json:"entry"`
	} `json:"feed"`
}

// csafLocation is where a provider's advisories are listed.
type csafLocation struct {
	url       string // ROLIE feed, or directory
	directory bool
}

// parseProvider reads a provider-metadata.json, or a ROLIE feed given in
// its place, and returns the public feeds and directories it names,
// resolved against base. Feeds labelled other than WHITE/CLEAR need
// credentials this sync does not have; they are returned in skipped.
func parseProvider(base *url.URL, body []byte) (locs []csafLocation, skipped []string, err error) {
	var top map[string]jsontext.Value
	if err := json.Unmarshal(body, &top); err != nil {
		return nil, nil, fmt.Errorf("not JSON: %v", err)
	}
	if _, ok := top["feed"]; ok {
		return []csafLocation{{url: base.String()}}, nil, nil
	}
	var pm providerMetadata
	if err := json.Unmarshal(body, &pm); err != nil {
		return nil, nil, fmt.Errorf("not CSAF provider metadata: %v", err)
	}
	for _, d := range pm.Distributions {
		if d.DirectoryURL != "" {
			u, err := base.Parse(d.DirectoryURL)
			if err != nil {
				return nil, nil, fmt.Errorf("bad directory_url: %v", err)
			}
			locs = append(locs, csafLocation{url: u.String(), directory: true})
		}
		if d.Rolie == nil {
			continue
		}
		for _, f := range d.Rolie.Feeds {
			u, err := base.Parse(f.URL)
			if err != nil || f.URL == "" {
				return nil, nil, fmt.Errorf("bad ROLIE feed url %q", redactRaw(f.URL))
			}
			switch strings.ToUpper(f.TLPLabel) {
			case "", "WHITE", "CLEAR", "UNLABELED":
				locs = append(locs, csafLocation{url: u.String()})
			default:
				skipped = append(skipped, safeURL(u))
			}
		}
	}
	if len(locs) == 0 && len(skipped) == 0 {
		return nil, nil, errors.New("lists no ROLIE feed and no directory_url")
	}
	return locs, skipped, nil
}

// parseROLIE lists the advisories of a ROLIE feed, resolved against base.
// An entry without an address or with an unreadable updated time becomes
// a problem.
func parseROLIE(base *url.URL, body []byte) ([]advisoryEntry, []bulwark.Problem, error) {
	var f rolieFeed
	if err := json.Unmarshal(body, &f); err != nil {
		return nil, nil, fmt.Errorf("not a ROLIE feed: %v", err)
	}
	if f.Feed == nil {
		return nil, nil, errors.New("not a ROLIE feed: no \"feed\" object")
	}
	var out []advisoryEntry
	var probs []bulwark.Problem
	name := docName(base, "feed")
	for i, e := range f.Feed.Entry {
		where := fmt.Sprintf("/feed/entry/%d", i)
		src, hash := e.Content.Src, ""
		for _, l := range e.Link {
			switch {
			case l.Rel == "self" && src == "":
				src = l.Href
			case l.Rel == "hash" && (hash == "" || strings.HasSuffix(l.Href, ".sha512")):
				hash = l.Href // prefer SHA-512 when both are linked
			}
		}
		if src == "" {
			probs = append(probs, bulwark.Problem{File: name, Field: where, Message: "entry has no content.src nor self link; skipped"})
			continue
		}
		u, err := base.Parse(src)
		if err != nil {
			probs = append(probs, bulwark.Problem{File: name, Field: where, Message: "bad advisory address; skipped"})
			continue
		}
		upd, err := time.Parse(time.RFC3339Nano, e.Updated)
		if err != nil {
			probs = append(probs, bulwark.Problem{File: name, Field: where + "/updated", Message: fmt.Sprintf("bad updated time %q; skipped", printable([]byte(e.Updated)))})
			continue
		}
		ent := advisoryEntry{ID: e.ID, URL: u.String(), Updated: upd}
		if hash != "" {
			h, err := base.Parse(hash)
			if err != nil {
				probs = append(probs, bulwark.Problem{File: name, Field: where, Message: "bad hash address; skipped"})
				continue
			}
			ent.HashURL = h.String()
		}
		out = append(out, ent)
	}
	return out, probs, nil
}

// parseChanges reads a CSAF directory's changes.csv ("path","time" per
// line, §7.1.16) into entries under dir.
func parseChanges(dir *url.URL, body []byte) ([]advisoryEntry, []bulwark.Problem, error) {
	r := csv.NewReader(bytes.NewReader(body))
	r.FieldsPerRecord = 2
	var out []advisoryEntry
	var probs []bulwark.Problem
	base := *dir
	if !strings.HasSuffix(base.Path, "/") {
		base.Path += "/"
	}
	for line := 1; ; line++ {
		rec, err := r.Read()
		if err == io.EOF {
			return out, probs, nil
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) && errors.Is(pe.Err, csv.ErrFieldCount) {
				probs = append(probs, bulwark.Problem{File: "changes.csv", Line: line, Message: "want two fields: path and time; skipped"})
				continue
			}
			return out, probs, fmt.Errorf("changes.csv line %d: %v", line, err)
		}
		upd, err := time.Parse(time.RFC3339Nano, rec[1])
		ref, perr := url.Parse(rec[0])
		if err != nil || perr != nil || ref.IsAbs() || strings.HasPrefix(rec[0], "/") {
			probs = append(probs, bulwark.Problem{File: "changes.csv", Line: line, Message: "bad path or time; skipped"})
			continue
		}
		u := base.ResolveReference(ref)
		out = append(out, advisoryEntry{ID: docName(u, rec[0]), URL: u.String(), Updated: upd, probeHash: true})
	}
}

// selectEntries picks what to fetch. With a mark (what an earlier sync
// reached, or --since) it takes the entries updated after it, oldest
// first, up to max, so that a capped sync continues next time where it
// stopped. Without one it takes the max newest. It returns the entries in
// the order to fetch and how many were left for later.
func selectEntries(entries []advisoryEntry, mark time.Time, max int) (picked []advisoryEntry, left int) {
	for _, e := range entries {
		if mark.IsZero() || e.Updated.After(mark) {
			picked = append(picked, e)
		}
	}
	slices.SortStableFunc(picked, func(a, b advisoryEntry) int { return a.Updated.Compare(b.Updated) })
	if len(picked) <= max {
		return picked, 0
	}
	left = len(picked) - max
	if mark.IsZero() {
		return picked[left:], left
	}
	return picked[:max], left
}

// syncCSAF fetches the advisories each provider updated since the last
// sync, checks their hashes and imports them.
func (s *Syncer) syncCSAF(ctx context.Context, sr *SourceResult, changed map[string]bool) error {
	budget := s.cfg.MaxAdvisories
	done := map[string]bool{} // advisory URLs fetched in this sync
	var errs []error
	for _, p := range s.cfg.CSAFProviders {
		if err := s.syncProvider(ctx, p, &budget, done, sr, changed); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (s *Syncer) syncProvider(ctx context.Context, provider string, budget *int, done map[string]bool, sr *SourceResult, changed map[string]bool) error {
	pu, err := s.checkURL(provider)
	if err != nil {
		return err
	}
	resp, err := s.get(ctx, request{url: pu, maxBytes: min(maxProviderBytes, s.cfg.MaxBodyBytes)})
	if err != nil {
		return fmt.Errorf("provider metadata: %w", err)
	}
	locs, skipped, err := parseProvider(pu, resp.body)
	if err != nil {
		return bulwark.Errorf(bulwark.EINVALID, "%s: %v", safeURL(pu), err)
	}
	for _, f := range skipped {
		s.log.Info("skipping a non-public CSAF feed (it needs credentials)", "feed", f)
	}
	var errs []error
	for _, loc := range locs {
		if err := s.syncLocation(ctx, loc, budget, done, sr, changed); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (s *Syncer) syncLocation(ctx context.Context, loc csafLocation, budget *int, done map[string]bool, sr *SourceResult, changed map[string]bool) error {
	lu, err := s.checkURL(loc.url)
	if err != nil {
		return err
	}
	listURL := lu
	if loc.directory {
		listURL = lu.JoinPath("changes.csv")
	}
	resp, err := s.get(ctx, request{url: listURL, maxBytes: s.cfg.MaxBodyBytes})
	if err != nil {
		return err
	}
	var entries []advisoryEntry
	var probs []bulwark.Problem
	if loc.directory {
		entries, probs, err = parseChanges(lu, resp.body)
	} else {
		entries, probs, err = parseROLIE(lu, resp.body)
	}
	sr.Problems = append(sr.Problems, probs...)
	if err != nil {
		return bulwark.Errorf(bulwark.EINVALID, "%s: %v", safeURL(listURL), err)
	}
	mark, seen := s.csafMarks[loc.url]
	if !seen && !s.cfg.Since.IsZero() {
		mark = s.cfg.Since
	}
	picked, left := selectEntries(entries, mark, max(*budget, 0))
	if left > 0 {
		msg := fmt.Sprintf("%d more advisories were not fetched (at most %d per sync)", left, s.cfg.MaxAdvisories)
		if mark.IsZero() {
			msg = fmt.Sprintf("only the %d newest advisories were fetched; %d older ones were not (raise --max-advisories, or import an archive offline)", len(picked), left)
		}
		sr.Problems = append(sr.Problems, bulwark.Problem{File: docName(listURL, loc.url), Message: msg})
	}
	newest := mark
	for _, e := range picked {
		if err := ctx.Err(); err != nil {
			return err
		}
		if e.Updated.After(newest) {
			newest = e.Updated
		}
		if done[e.URL] {
			continue
		}
		done[e.URL] = true
		*budget--
		if err := s.fetchAdvisory(ctx, e, sr, changed); err != nil {
			return err
		}
	}
	// Advisories that failed were reported as problems; the mark moves
	// on so that one broken advisory does not stall every later sync.
	if !newest.IsZero() {
		s.csafMarks[loc.url] = newest
	}
	return nil
}

// fetchAdvisory fetches one advisory and its hash, and imports it when
// the hash matches. Failures of this advisory alone become problems; the
// error is for failures that stop the source.
func (s *Syncer) fetchAdvisory(ctx context.Context, e advisoryEntry, sr *SourceResult, changed map[string]bool) error {
	u, err := s.checkURL(e.URL)
	if err != nil {
		sr.Problems = append(sr.Problems, bulwark.Problem{File: e.ID, Message: bulwark.ErrorMessage(err) + "; skipped"})
		return nil
	}
	name := docName(u, e.ID+".json")
	problem := func(msg string) {
		sr.Problems = append(sr.Problems, bulwark.Problem{File: name, Message: msg})
	}
	resp, err := s.get(ctx, request{url: u, maxBytes: s.cfg.MaxBodyBytes})
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		problem(fmt.Sprintf("%v; skipped", err))
		return nil
	}
	if err := s.verifyHash(ctx, e, resp.body); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		problem(err.Error() + "; skipped")
		return nil
	}
	_, err = s.importDoc(ctx, CSAF, name, resp.body, sr, changed)
	return err
}

// verifyHash checks body against the advisory's published digest.
func (s *Syncer) verifyHash(ctx context.Context, e advisoryEntry, body []byte) error {
	var candidates []string
	switch {
	case e.HashURL != "":
		candidates = []string{e.HashURL}
	case e.probeHash:
		candidates = []string{e.URL + ".sha512", e.URL + ".sha256"}
	default:
		return nil // nothing published to check against
	}
	for _, c := range candidates {
		hu, err := s.checkURL(c)
		if err != nil {
			return err
		}
		resp, err := s.get(ctx, request{url: hu, maxBytes: maxHashBytes})
		var se *statusError
		if e.probeHash && errors.As(err, &se) && se.status == http.StatusNotFound {
			continue
		}
		if err != nil {
			return fmt.Errorf("cannot check the advisory's hash: %w", err)
		}
		return checkDigest(hu, resp.body, body)
	}
	return nil
}

// checkDigest compares body with a sha256sum/sha512sum style hash file
// ("<hex>  <name>"), the algorithm told by the file's extension or, failing
// that, the digest's length.
func checkDigest(hu *url.URL, hashFile, body []byte) error {
	fields := strings.Fields(string(hashFile))
	if len(fields) == 0 {
		return fmt.Errorf("hash file %s is empty", docName(hu, "hash"))
	}
	want, err := hex.DecodeString(fields[0])
	if err != nil {
		return fmt.Errorf("hash file %s holds no hex digest", docName(hu, "hash"))
	}
	var got []byte
	algo := ""
	switch {
	case strings.HasSuffix(hu.Path, ".sha512") || strings.HasSuffix(hu.Path, ".sha256") && len(want) == sha512.Size:
		sum := sha512.Sum512(body)
		got, algo = sum[:], "SHA-512"
	case strings.HasSuffix(hu.Path, ".sha256") || len(want) == sha256.Size:
		sum := sha256.Sum256(body)
		got, algo = sum[:], "SHA-256"
	case len(want) == sha512.Size:
		sum := sha512.Sum512(body)
		got, algo = sum[:], "SHA-512"
	default:
		return fmt.Errorf("hash file %s: digest of unknown length %d", docName(hu, "hash"), len(want))
	}
	if len(got) != len(want) || !bytes.Equal(got, want) {
		return fmt.Errorf("%s mismatch: the advisory hashes to %.16x…, %s says %.16x…", algo, got, docName(hu, "hash"), want)
	}
	return nil
}
