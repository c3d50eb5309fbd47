package api

import (
	"net/http"

	"bulwark"
	"bulwark/internal/sharing"
	"bulwark/internal/sharing/datasrc"
)

// Publishing Bulwark's own data (sharing.FromData): the caller
// organization's advisories, a summary of its open findings, an incident it
// takes part in. Each is a deliberate act: the marking is required, and
// the sharing service applies the collection's write rights, the TLP rules
// and the audience checks to every object.

// maxPublishOrgs caps the recipient organizations of one publication.
const maxPublishOrgs = 256

// intelPublishRoutes are the routes of this file.
func (a *API) intelPublishRoutes() []route {
	return []route{
		{"POST /api/v1/intel/publish/advisories", writer, a.publishAdvisories},
		{"POST /api/v1/intel/publish/findings", writer, a.publishFindings},
		{"POST /api/v1/intel/publish/incidents/{id}", writer, a.publishIncident},
	}
}

// bulkPublishDTO is the body of the publish routes.
type bulkPublishDTO struct {
	Collection string   `json:"collection"`
	Marking    string   `json:"marking"` // required: no default
	Orgs       []string `json:"orgs"`    // recipients of AMBER (any number) or AMBER+STRICT (one)
	Scope      string   `json:"scope"`   // identity scope; sharing.DefaultScope when empty
}

// bulkResultDTO is what the publish routes answer.
type bulkResultDTO struct {
	Published int               `json:"published"`
	Unchanged int               `json:"unchanged"`
	Objects   []string          `json:"objects"`
	Refused   []sharing.Refusal `json:"refused"`
}

// refusedDTO answers a publication the sharing rules refused in part: the
// error (409) and what was done.
type refusedDTO struct {
	Error  errorDTO      `json:"error"`
	Result bulkResultDTO `json:"result"`
}

type bulkPublishFunc func(r *http.Request, fd *sharing.FromData, col string, m bulwark.TLP, orgs []string) (*sharing.BulkResult, error)

func (a *API) publishAdvisories(w http.ResponseWriter, r *http.Request) error {
	return a.bulkPublish(w, r, func(r *http.Request, fd *sharing.FromData, col string, m bulwark.TLP, orgs []string) (*sharing.BulkResult, error) {
		return fd.PublishAdvisories(r.Context(), col, m, orgs...)
	})
}

func (a *API) publishFindings(w http.ResponseWriter, r *http.Request) error {
	return a.bulkPublish(w, r, func(r *http.Request, fd *sharing.FromData, col string, m bulwark.TLP, orgs []string) (*sharing.BulkResult, error) {
		return fd.PublishFindingsSummary(r.Context(), col, m, orgs...)
	})
}

func (a *API) publishIncident(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	return a.bulkPublish(w, r, func(r *http.Request, fd *sharing.FromData, col string, m bulwark.TLP, orgs []string) (*sharing.BulkResult, error) {
		return fd.PublishIncident(r.Context(), id, col, m, orgs...)
	})
}

// bulkPublish decodes and checks the body, publishes as the caller and
// answers the result: 200, or 409 with the result when the sharing rules
// refused some objects.
func (a *API) bulkPublish(w http.ResponseWriter, r *http.Request, publish bulkPublishFunc) error {
	if _, err := queryValues(r); err != nil {
		return err
	}
	var body bulkPublishDTO
	if err := a.decodeBody(w, r, &body); err != nil {
		return err
	}
	if body.Collection == "" {
		return bulwark.Errorf(bulwark.EINVALID, "collection is required")
	}
	if body.Marking == "" {
		return bulwark.Errorf(bulwark.EINVALID, "marking is required: clear, green, amber, amber+strict or red (no default)")
	}
	m, err := parseMarking(body.Marking)
	if err != nil {
		return err
	}
	if len(body.Orgs) > maxPublishOrgs {
		return bulwark.Errorf(bulwark.EINVALID, "orgs: at most %d recipient organizations", maxPublishOrgs)
	}
	fd := datasrc.New(a.st, a.sh, a.vs, a.is, body.Scope)
	res, err := publish(r, fd, body.Collection, m, body.Orgs)
	refused := err != nil && res != nil && len(res.Refused) > 0 && bulwark.ErrorCode(err) == bulwark.ECONFLICT
	if res == nil || (err != nil && !refused) {
		if err == nil {
			err = bulwark.Errorf(bulwark.EINTERNAL, "publication without a result")
		}
		return err
	}
	out := bulkResultDTO{Published: res.Published, Unchanged: res.Unchanged, Objects: res.Objects, Refused: res.Refused}
	if out.Objects == nil {
		out.Objects = []string{}
	}
	if out.Refused == nil {
		out.Refused = []sharing.Refusal{}
	}
	if refused {
		writeJSON(w, http.StatusConflict, refusedDTO{Error: errorDTO{Code: bulwark.ECONFLICT, Message: bulwark.ErrorMessage(err)}, Result: out})
		return nil
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
