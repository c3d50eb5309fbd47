package api

import (
	"context"
	"fmt"
	"net/http"
	"strconv"

	"bulwark"
	"bulwark/internal/depgraph"
)

// analyze builds the dependency analysis of everything the caller sees.
func (a *API) analyze(ctx context.Context) (*depgraph.Analysis, error) {
	data, err := a.st.LoadGraph(ctx)
	if err != nil {
		return nil, err
	}
	g, err := depgraph.Compile(data)
	if err != nil {
		return nil, fmt.Errorf("compile dependency graph: %w", err)
	}
	return depgraph.Analyze(g), nil
}

const defaultGraphLimit, maxGraphLimit = 100, 100_000

// graphReport serves the city-wide analysis: the most critical nodes first.
func (a *API) graphReport(w http.ResponseWriter, r *http.Request) error {
	q, err := queryValues(r, "limit")
	if err != nil {
		return err
	}
	limit := defaultGraphLimit
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 || n > maxGraphLimit {
			return bulwark.Errorf(bulwark.EINVALID, "limit must be an integer from 0 (all) to %d", maxGraphLimit)
		}
		limit = n
	}
	an, err := a.analyze(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, an.Report(limit))
	return nil
}

// serviceGraph serves the dependency view of one service for the browser.
func (a *API) serviceGraph(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "service")
	if err != nil {
		return err
	}
	// Reading the service first makes a hidden service answer exactly like
	// a missing one, whatever the analysis holds.
	if _, err := a.st.FindService(r.Context(), id); err != nil {
		return err
	}
	an, err := a.analyze(r.Context())
	if err != nil {
		return err
	}
	v, ok := an.ServiceView(id)
	if !ok {
		return notFound("service", id)
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}
