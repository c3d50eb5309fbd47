package feed

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"bulwark"
)

// EPSS CSV, as FIRST publishes it (epss_scores-YYYY-MM-DD.csv.gz):
//
//	#model_version:v2023.03.01,score_date:2023-03-20T00:00:00+0000
//	cve,epss,percentile
//	CVE-1999-0001,0.01297,0.84428

// isEPSSHeader reports whether b starts like an EPSS file.
func isEPSSHeader(b []byte) bool {
	return bytes.HasPrefix(b, []byte("#model_version:")) || bytes.HasPrefix(b, []byte("cve,epss,percentile"))
}

// epssHeader reads the optional comment line and the column header.
func epssHeader(rd *reader, br *bufio.Reader) (envInfo, int, error) {
	var env envInfo
	line := 0
	next := func() (string, error) {
		b, err := readLine(br, nil, rd.opts.MaxRecordBytes)
		if err != nil && !(err == io.EOF && len(b) > 0) {
			if err == io.EOF {
				return "", fileError(bulwark.EINVALID, rd.name, "", "no \"cve,epss,percentile\" header: not an EPSS file")
			}
			return "", rd.lineError(line+1, err)
		}
		line++
		return strings.TrimRight(string(b), "\r\n"), nil
	}
	s, err := next()
	if err != nil {
		return env, line, err
	}
	if meta, ok := strings.CutPrefix(s, "#"); ok {
		for _, kv := range strings.Split(meta, ",") {
			k, val, _ := strings.Cut(kv, ":")
			if k == "score_date" {
				t, err := parseTime(val)
				if err != nil {
					e := fileError(bulwark.EINVALID, rd.name, "", fmt.Sprintf("score_date: %v", err))
					e.Details[0].Line = line
					return env, line, e
				}
				env.released = t
				env.scoreDate = t
			}
		}
		if s, err = next(); err != nil {
			return env, line, err
		}
	}
	if s != "cve,epss,percentile" {
		e := fileError(bulwark.EINVALID, rd.name, "", fmt.Sprintf("header is %q, want \"cve,epss,percentile\"", s))
		e.Details[0].Line = line
		return env, line, e
	}
	return env, line, nil
}

// decodeEPSS maps one CSV row to Vulnerability{ID, EPSS}.
func decodeEPSS(raw []byte, env envInfo) (bulwark.Vulnerability, *bulwark.Problem, error) {
	fields := strings.Split(string(raw), ",")
	if len(fields) != 3 {
		return bulwark.Vulnerability{}, problem("", "%d fields, want 3 (cve,epss,percentile)", len(fields)), nil
	}
	v := bulwark.Vulnerability{ID: fields[0]}
	if !validCVEID(v.ID) {
		return v, problem("cve", "bad CVE ID %q", v.ID), nil
	}
	e := &bulwark.EPSSScore{Date: env.scoreDate}
	for _, f := range []struct {
		name string
		s    string
		dst  *float64
	}{{"epss", fields[1], &e.Score}, {"percentile", fields[2], &e.Percentile}} {
		x, err := strconv.ParseFloat(f.s, 64)
		if err != nil || math.IsNaN(x) || x < 0 || x > 1 {
			return v, problem(f.name, "%q is not a probability between 0 and 1", f.s), nil
		}
		*f.dst = x
	}
	v.EPSS = e
	return v, nil, nil
}
