package feedsync

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/go-json-experiment/json/jsontext"

	"bulwark"
)

// nvdRecordSource is the provenance source the NVD API 2.0 reader gives
// its records: where an incremental sync starts.
// nvdRecordSource is the store key of NVD records: the 1.1 files and the
// API's records of one CVE are one source (the newer replaces the older),
// so the newest stored NVD record is where an incremental sync starts.
const nvdRecordSource = "nvd"

// nvdTimeLayout is the ISO-8601 form the NVD API takes, with an explicit
// offset (url.Values encodes its "+" as %2B).
const nvdTimeLayout = "2006-01-02T15:04:05.000-07:00"

// window is one lastModified range of at most NVDMaxWindow.
type window struct{ start, end time.Time }

// nvdWindows splits [start, end) into ranges the API accepts.
func nvdWindows(start, end time.Time) []window {
	var out []window
	for ws := start; ws.Before(end); {
		we := ws.Add(NVDMaxWindow)
		if we.After(end) {
			we = end
		}
		out = append(out, window{ws, we})
		ws = we
	}
	return out
}

// nvdStart is where an incremental sync starts: the start of a window
// that failed halfway, else Since on the first sync when given (unless
// SinceIfEmpty and the store has records), else the newest lastModified
// stored from the API, else the end of this Syncer's last complete sync.
func (s *Syncer) nvdStart(ctx context.Context) (time.Time, error) {
	if !s.nvdResume.IsZero() {
		return s.nvdResume, nil
	}
	useSince := !s.sinceUsed && !s.cfg.Since.IsZero()
	if useSince && !s.cfg.SinceIfEmpty {
		return s.cfg.Since, nil
	}
	if s.cfg.LastModified != nil {
		t, err := s.cfg.LastModified(ctx, nvdRecordSource)
		if err != nil {
			return time.Time{}, err
		}
		if !t.IsZero() {
			return t, nil
		}
	}
	if useSince {
		return s.cfg.Since, nil
	}
	if !s.nvdMark.IsZero() {
		return s.nvdMark, nil
	}
	return time.Time{}, bulwark.Errorf(bulwark.EINVALID,
		"no NVD API records are stored yet, so there is nothing to continue from: give a start date (--since 2026-01-01). "+
			"A full NVD download (over 250,000 CVEs) is a bulk job, not a sync: import the yearly feed files or a mirror "+
			"with 'bulwark feeds import' first, then sync from their date")
}

// syncNVD fetches every CVE modified since the start, window by window
// and page by page, importing each page as one document.
func (s *Syncer) syncNVD(ctx context.Context, sr *SourceResult, changed map[string]bool) error {
	base, err := s.checkURL(s.cfg.NVDURL)
	if err != nil {
		return err
	}
	start, err := s.nvdStart(ctx)
	if err != nil {
		return err
	}
	end := s.now().UTC()
	start = start.UTC()
	if start.After(end) {
		start = end
	}
	h := http.Header{}
	if s.cfg.NVDAPIKey != "" {
		h.Set("apiKey", s.cfg.NVDAPIKey)
	}
	for _, w := range nvdWindows(start, end) {
		if err := s.syncNVDWindow(ctx, base, h, w, sr, changed); err != nil {
			// Records of a window come in no particular lastModified
			// order, so what was stored does not say how far the window
			// got: the next sync starts again at this window.
			s.nvdResume = w.start
			if ctx.Err() != nil {
				return err
			}
			return fmt.Errorf("%w (the window from %s was not completed: a scheduled sync resumes there; by hand, give --since %s)",
				err, w.start.Format(time.RFC3339), w.start.Format(time.RFC3339))
		}
	}
	s.nvdResume = time.Time{}
	s.nvdMark = end
	s.sinceUsed = true
	return nil
}

func (s *Syncer) syncNVDWindow(ctx context.Context, base *url.URL, h http.Header, w window, sr *SourceResult, changed map[string]bool) error {
	for index := 0; ; {
		q := base.Query()
		q.Set("lastModStartDate", w.start.Format(nvdTimeLayout))
		q.Set("lastModEndDate", w.end.Format(nvdTimeLayout))
		q.Set("startIndex", strconv.Itoa(index))
		q.Set("resultsPerPage", strconv.Itoa(s.cfg.NVDPageSize))
		u := *base
		u.RawQuery = q.Encode()
		resp, err := s.get(ctx, request{url: &u, header: h, maxBytes: s.cfg.MaxBodyBytes, limiter: s.nvdLim, retryForbidden: true})
		if err != nil {
			return err
		}
		name := fmt.Sprintf("nvd-api-%s-%d.json", w.start.Format("20060102T150405Z"), index)
		page, err := parseNVDPage(resp.body)
		if err != nil {
			return bulwark.Errorf(bulwark.EINVALID, "%s: not an NVD API 2.0 answer: %v", name, err)
		}
		if page.startIndex != index {
			return bulwark.Errorf(bulwark.EINVALID, "%s: asked for startIndex %d, got %d", name, index, page.startIndex)
		}
		if page.count > 0 {
			if _, err := s.importDoc(ctx, NVD, name, resp.body, sr, changed); err != nil {
				return err
			}
		}
		index += page.count
		if index >= page.total {
			return nil
		}
		if page.count == 0 {
			// The total promises more but the page is empty: stop
			// rather than loop.
			sr.Problems = append(sr.Problems, bulwark.Problem{File: name,
				Message: fmt.Sprintf("empty page at index %d of %d results; the rest of the window was not fetched", index, page.total)})
			return nil
		}
	}
}

// nvdPage is the envelope of an NVD API 2.0 answer.
type nvdPage struct {
	startIndex, total, count int
}

// parseNVDPage reads the envelope of a CVE API answer: startIndex,
// totalResults and how many vulnerabilities the page holds. It decodes
// only the top level; the records are the importer's business.
func parseNVDPage(b []byte) (nvdPage, error) {
	var p nvdPage
	dec := jsontext.NewDecoder(bytes.NewReader(b))
	tok, err := dec.ReadToken()
	if err != nil {
		return p, err
	}
	if tok.Kind() != '{' {
		return p, fmt.Errorf("top level is not an object")
	}
	var sawTotal, sawVulns, sawStart bool
	for dec.PeekKind() != '}' {
		tok, err := dec.ReadToken()
		if err != nil {
			return p, err
		}
		switch name := tok.String(); name {
		case "startIndex", "totalResults":
			v, err := dec.ReadToken()
			if err != nil {
				return p, err
			}
			if v.Kind() != '0' {
				return p, fmt.Errorf("%s is not a number", name)
			}
			n, err := strconv.Atoi(v.String())
			if err != nil || n < 0 {
				return p, fmt.Errorf("%s %s is not a count", name, v.String())
			}
			if name == "startIndex" {
				p.startIndex, sawStart = n, true
			} else {
				p.total, sawTotal = n, true
			}
		case "vulnerabilities":
			if dec.PeekKind() != '[' {
				return p, fmt.Errorf("vulnerabilities is not an array")
			}
			if _, err := dec.ReadToken(); err != nil {
				return p, err
			}
			for dec.PeekKind() != ']' {
				if err := dec.SkipValue(); err != nil {
					return p, err
				}
				p.count++
			}
			if _, err := dec.ReadToken(); err != nil {
				return p, err
			}
			sawVulns = true
		default:
			if err := dec.SkipValue(); err != nil {
				return p, err
			}
		}
	}
	if _, err := dec.ReadToken(); err != nil {
		return p, err
	}
	switch {
	case !sawTotal:
		return p, fmt.Errorf("no totalResults")
	case !sawVulns:
		return p, fmt.Errorf("no vulnerabilities array")
	case !sawStart:
		return p, fmt.Errorf("no startIndex")
	}
	return p, nil
}
