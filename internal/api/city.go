package api

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"bulwark"
)

// Query parameters each listing accepts; anything else is refused so that a
// mistyped filter does not silently return everything.
var (
	orgParams     = []string{"limit", "after", "q"}
	serviceParams = []string{"limit", "after", "q", "owner", "sector"}
	systemParams  = []string{"limit", "after", "q", "owner"}
	assetParams   = []string{"limit", "after", "q", "owner", "kind", "system"}
)

const maxQueryLen = 200

// queryValues returns r's query, refusing unknown and repeated parameters.
func queryValues(r *http.Request, allowed ...string) (url.Values, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, bulwark.Errorf(bulwark.EINVALID, "malformed query string")
	}
	for k, vs := range q {
		ok := false
		for _, a := range allowed {
			ok = ok || k == a
		}
		if !ok {
			return nil, bulwark.Errorf(bulwark.EINVALID, "unknown query parameter %q", bulwark.Abbrev(k, 64))
		}
		if len(vs) > 1 {
			return nil, bulwark.Errorf(bulwark.EINVALID, "query parameter %q given more than once", k)
		}
	}
	return q, nil
}

// listOptions parses the paging and filter parameters of a listing.
func listOptions(r *http.Request, allowed []string) (bulwark.ListOptions, error) {
	q, err := queryValues(r, allowed...)
	if err != nil {
		return bulwark.ListOptions{}, err
	}
	var opt bulwark.ListOptions
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > bulwark.MaxPageSize {
			return opt, bulwark.Errorf(bulwark.EINVALID, "limit must be an integer from 1 to %d", bulwark.MaxPageSize)
		}
		opt.Limit = n
	}
	for _, f := range []struct {
		name string
		dst  *string
	}{{"after", &opt.After}, {"owner", &opt.Owner}, {"system", &opt.System}} {
		if s := q.Get(f.name); s != "" {
			if !bulwark.ValidID(s) {
				return opt, bulwark.Errorf(bulwark.EINVALID, "%s must be an identifier (1-%d characters: letters, digits, . _ : -)", f.name, bulwark.MaxIDLen)
			}
			*f.dst = s
		}
	}
	if s := q.Get("sector"); s != "" {
		if !bulwark.ValidSector(bulwark.Sector(s)) {
			return opt, bulwark.Errorf(bulwark.EINVALID, "sector must be one of the 16 CISA sector names, such as water-wastewater")
		}
		opt.Sector = bulwark.Sector(s)
	}
	opt.Query, opt.Kind = q.Get("q"), q.Get("kind")
	if len(opt.Query) > maxQueryLen || len(opt.Kind) > maxQueryLen {
		return opt, bulwark.Errorf(bulwark.EINVALID, "q and kind are limited to %d bytes", maxQueryLen)
	}
	return opt, nil
}

// list serves one listing: parse options, call the store, convert.
func list[T, D any](r *http.Request, w http.ResponseWriter, allowed []string,
	find func(context.Context, bulwark.ListOptions) (bulwark.Page[T], error), conv func(*T) D) error {
	opt, err := listOptions(r, allowed)
	if err != nil {
		return err
	}
	page, err := find(r.Context(), opt)
	if err != nil {
		return err
	}
	out := pageDTO[D]{Items: make([]D, 0, len(page.Items)), Next: page.Next}
	for i := range page.Items {
		out.Items = append(out.Items, conv(&page.Items[i]))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// get serves one entity by the {id} path value. A malformed id is answered
// like a missing one: 404, not 400, so that no probe can tell them apart.
func get[T, D any](r *http.Request, w http.ResponseWriter, what string,
	find func(context.Context, string) (*T, error), conv func(*T) D) error {
	id, err := pathID(r, what)
	if err != nil {
		return err
	}
	v, err := find(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, conv(v))
	return nil
}

func pathID(r *http.Request, what string) (string, error) {
	id := r.PathValue("id")
	if !bulwark.ValidID(id) || len(r.URL.RawQuery) > 0 {
		if len(r.URL.RawQuery) > 0 {
			return "", bulwark.Errorf(bulwark.EINVALID, "this route takes no query parameters")
		}
		return "", notFound(what, id)
	}
	return id, nil
}

// notFound is the one answer for missing and not-visible entities.
func notFound(what, id string) error {
	if !bulwark.ValidID(id) {
		return bulwark.Errorf(bulwark.ENOTFOUND, "%s not found", what)
	}
	return bulwark.Errorf(bulwark.ENOTFOUND, "%s %q not found", what, id)
}

func (a *API) listOrganizations(w http.ResponseWriter, r *http.Request) error {
	return list(r, w, orgParams, a.st.ListOrganizations, toOrganization)
}

func (a *API) getOrganization(w http.ResponseWriter, r *http.Request) error {
	return get(r, w, "organization", a.st.FindOrganization, toOrganization)
}

func (a *API) listServices(w http.ResponseWriter, r *http.Request) error {
	return list(r, w, serviceParams, a.st.ListServices, toService)
}

func (a *API) getService(w http.ResponseWriter, r *http.Request) error {
	return get(r, w, "service", a.st.FindService, toService)
}

func (a *API) listSystems(w http.ResponseWriter, r *http.Request) error {
	return list(r, w, systemParams, a.st.ListSystems, toSystem)
}

func (a *API) getSystem(w http.ResponseWriter, r *http.Request) error {
	return get(r, w, "system", a.st.FindSystem, toSystem)
}

func (a *API) listAssets(w http.ResponseWriter, r *http.Request) error {
	return list(r, w, assetParams, a.st.ListAssets, toAsset)
}

func (a *API) getAsset(w http.ResponseWriter, r *http.Request) error {
	return get(r, w, "asset", a.st.FindAsset, toAsset)
}

// deleteEntity removes a service, system or asset; the store checks that the
// caller owns it (ENOTFOUND when it is not visible at all).
func (a *API) deleteEntity(kind bulwark.NodeKind) func(w http.ResponseWriter, r *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r, kind.String())
		if err != nil {
			return err
		}
		if err := a.st.DeleteEntity(r.Context(), kind, id); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
}
