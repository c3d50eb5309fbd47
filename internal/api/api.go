// Package api is Bulwark's REST/JSON API under /api/v1: listing and reading
// the city model, the dependency-graph analysis, import and export, users,
// API tokens and the audit log. Handlers are thin (decode, validate, call the
// store or an engine, encode); the store enforces organization scope, and
// every route declares the role it needs in routes(). The OpenAPI 3.1
// description is served at /api/v1/openapi.json.
package api

import (
	_ "embed"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"bulwark"
	"bulwark/internal/auth"
	"bulwark/internal/baseline"
	"bulwark/internal/incident"
	"bulwark/internal/intelfeed"
	"bulwark/internal/notify"
	"bulwark/internal/risk"
	"bulwark/internal/sharing"
	"bulwark/internal/simrun"
	"bulwark/internal/training"
	"bulwark/internal/vulns"
)

//go:embed openapi.json
var openapiJSON []byte

// policy is who may call a route. Every route names one explicitly.
type policy int

const (
	_      policy = iota // the zero value is no policy: a test rejects it
	public               // anyone, no credentials
	reader               // any authenticated principal (every role reads)
	self                 // any principal, acting on its own credentials
	writer               // analysts and admins: change the organization's data
	admin                // admins: users, others' tokens, the audit log
)

var policyNames = map[policy]string{public: "public", reader: "reader", self: "self", writer: "writer", admin: "admin"}

func (p policy) String() string { return policyNames[p] }

// allows reports whether pr may call a route with policy p.
func (p policy) allows(pr bulwark.Principal) bool {
	switch p {
	case reader, self:
		return true
	case writer:
		return pr.System || pr.Role.CanWrite()
	case admin:
		return pr.System || pr.Role == bulwark.RoleAdmin
	}
	return false
}

// route is one entry of the route table.
type route struct {
	pattern string // Go 1.22 ServeMux pattern: "METHOD /path/{wildcard}"
	policy  policy
	handle  func(w http.ResponseWriter, r *http.Request) error
}

// API serves /api/v1.
type API struct {
	st     bulwark.Store
	vs     *vulns.Service
	bs     *baseline.Service
	rs     *risk.Service
	ns     *notify.Service
	is     *incident.Service
	sims   *simrun.Service
	feeds  *intelfeed.Service
	sh     *sharing.Service
	auth   *auth.Service
	log    *slog.Logger
	routes []route
	mux    *http.ServeMux
	h      http.Handler  // mux behind authentication
	sem    chan struct{} // bounds concurrent imports and exports
	// bodyTimeout bounds the time to receive a JSON request body, so that a
	// client trickling bytes (slowloris) cannot hold a handler for the
	// server's whole read timeout.
	bodyTimeout time.Duration
}

// New returns the API handler. It authenticates requests itself (a no-op
// when the server's auth middleware already did).
func New(st bulwark.Store, a *auth.Service, log *slog.Logger) http.Handler {
	return newAPI(st, Services{}, a, log)
}

// Services are the process's capability services. The API, the pages and
// scheduled jobs share them (and so their caches and locks); a nil one is
// made for the API alone.
type Services struct {
	Vulns     *vulns.Service
	Baselines *baseline.Service
	Risks     *risk.Service
	// Sims runs simulations; without one (nil) the API reads runs but
	// refuses submissions, having no job queue.
	Sims *simrun.Service
	// Incidents is the incident service.
	Incidents *incident.Service
	// Notify is the notification service (the API lists and acknowledges).
	Notify *notify.Service
	// Feeds manages intel feed subscriptions; without one (nil) one
	// without a job queue is made (pulls are then refused).
	Feeds *intelfeed.Service
	// Sharing is the intel sharing service (communities, collections,
	// objects); without one (nil) one is made, and the feeds service made
	// for the API alone uses it.
	Sharing *sharing.Service
}

// NewWith is New with the process's services.
func NewWith(st bulwark.Store, svc Services, a *auth.Service, log *slog.Logger) http.Handler {
	return newAPI(st, svc, a, log)
}

func newAPI(st bulwark.Store, svc Services, a *auth.Service, log *slog.Logger) *API {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if svc.Vulns == nil {
		svc.Vulns = vulns.New(st, log)
	}
	if svc.Baselines == nil {
		svc.Baselines = baseline.New(st, log)
	}
	if svc.Risks == nil {
		svc.Risks = risk.New(st, log)
	}
	if svc.Sims == nil {
		svc.Sims = simrun.New(st, log)
	}
	if svc.Incidents == nil {
		svc.Incidents = incident.New(st, svc.Baselines, log)
	}
	if svc.Notify == nil {
		svc.Notify = notify.New(st, nil, notify.Config{}, log)
	}
	if svc.Sharing == nil {
		svc.Sharing = sharing.New(st, log)
	}
	if svc.Feeds == nil {
		svc.Feeds = intelfeed.New(st, svc.Sharing, intelfeed.Config{}, log)
	}
	api := &API{st: st, vs: svc.Vulns, bs: svc.Baselines, rs: svc.Risks, ns: svc.Notify, is: svc.Incidents, sims: svc.Sims, feeds: svc.Feeds, sh: svc.Sharing, auth: a, log: log, mux: http.NewServeMux(), sem: make(chan struct{}, 2), bodyTimeout: 10 * time.Second}
	api.routes = api.routeTable()
	for _, rt := range api.routes {
		api.mux.Handle(rt.pattern, api.wrap(rt))
	}
	api.h = api.mux
	if a != nil {
		api.h = a.Middleware(api.mux)
	}
	api.mux.HandleFunc("/api/v1/", func(w http.ResponseWriter, r *http.Request) {
		api.writeError(w, r, bulwark.Errorf(bulwark.ENOTFOUND, "no such API route: %s %s", r.Method, r.URL.Path))
	})
	return api
}

// routeTable is the whole API: every route, with its policy.
func (a *API) routeTable() []route {
	return append([]route{
		{"GET /api/v1/healthz", public, a.healthz},
		{"GET /api/v1/openapi.json", public, a.openapi},
		{"GET /api/v1/me", reader, a.me},
		{"GET /api/v1/counts", reader, a.counts},

		{"GET /api/v1/organizations", reader, a.listOrganizations},
		{"GET /api/v1/organizations/{id}", reader, a.getOrganization},
		{"GET /api/v1/services", reader, a.listServices},
		{"GET /api/v1/services/{id}", reader, a.getService},
		{"DELETE /api/v1/services/{id}", writer, a.deleteEntity(bulwark.KindService)},
		{"GET /api/v1/services/{id}/graph", reader, a.serviceGraph},
		{"GET /api/v1/systems", reader, a.listSystems},
		{"GET /api/v1/systems/{id}", reader, a.getSystem},
		{"DELETE /api/v1/systems/{id}", writer, a.deleteEntity(bulwark.KindSystem)},
		{"GET /api/v1/assets", reader, a.listAssets},
		{"GET /api/v1/assets/{id}", reader, a.getAsset},
		{"DELETE /api/v1/assets/{id}", writer, a.deleteEntity(bulwark.KindAsset)},
		{"GET /api/v1/graph", reader, a.graphReport},

		{"POST /api/v1/import", writer, a.importCity},
		{"GET /api/v1/export", reader, a.exportCity},

		{"GET /api/v1/users", admin, a.listUsers},
		{"POST /api/v1/users", admin, a.createUser},
		{"POST /api/v1/users/{id}/disable", admin, a.disableUser},
		{"GET /api/v1/tokens", self, a.listTokens},
		{"POST /api/v1/tokens", self, a.createToken},
		{"DELETE /api/v1/tokens/{id}", self, a.revokeToken},
		{"GET /api/v1/audit", admin, a.listAudit},
		{"GET /api/v1/audit/verify", admin, a.verifyAudit},

		{"GET /api/v1/vulnerabilities", reader, a.listVulnerabilities},
		{"GET /api/v1/vulnerabilities/{id}", reader, a.getVulnerability},
		{"GET /api/v1/findings", reader, a.listFindings},
		{"GET /api/v1/findings/{asset}/{vuln}", reader, a.getFinding},
		{"PATCH /api/v1/findings/{asset}/{vuln}", writer, a.updateFinding},
		{"GET /api/v1/findings/{asset}/{vuln}/history", reader, a.findingHistory},
		{"GET /api/v1/explain/{asset}/{vuln}", reader, a.explain},
		{"GET /api/v1/advisories", reader, a.advisories},
		{"GET /api/v1/exposure", reader, a.exposure},
		{"GET /api/v1/feeds", reader, a.feedStatus},
		{"POST /api/v1/feeds", admin, a.importFeed},
		{"POST /api/v1/match", admin, a.runMatch},
		{"GET /api/v1/assets/{id}/sbom", reader, a.getSBOM},
		{"PUT /api/v1/assets/{id}/sbom", writer, a.putSBOM},

		{"GET /api/v1/catalogs", reader, a.listCatalogs},
		{"GET /api/v1/catalogs/{id}", reader, a.getCatalog},
		{"POST /api/v1/catalogs", admin, a.importCatalog},
		{"GET /api/v1/assessments", reader, a.listAssessments},
		{"POST /api/v1/assessments", writer, a.createAssessment},
		{"GET /api/v1/assessments/{id}", reader, a.getAssessment},
		{"GET /api/v1/assessments/{id}/export", reader, a.exportAssessment},
		{"PUT /api/v1/assessments/{id}/results/{control}", writer, a.setResult},
		{"GET /api/v1/assessments/{id}/results/{control}/history", reader, a.resultHistory},
		{"GET /api/v1/profiles", reader, a.listProfiles},
		{"GET /api/v1/profiles/{id}", reader, a.getProfile},
		{"PUT /api/v1/profiles/{id}", writer, a.putProfile},
		{"DELETE /api/v1/profiles/{id}", writer, a.deleteProfile},
		{"GET /api/v1/profiles/{id}/compliance", reader, a.profileCompliance},
		{"GET /api/v1/gaps", reader, a.listGaps},
		{"GET /api/v1/readiness", reader, a.readiness},
		{"GET /api/v1/readiness/history", reader, a.readinessHistory},
		{"POST /api/v1/readiness/record", admin, a.recordReadiness},
		{"GET /api/v1/report", reader, a.councilReport},

		{"GET /api/v1/risks", reader, a.listRisks},
		{"POST /api/v1/risks", writer, a.createRisk},
		{"GET /api/v1/risks/heatmap", reader, a.riskHeatmap},
		{"GET /api/v1/risks/analysis", reader, a.riskAnalysis},
		{"GET /api/v1/risks/{id}", reader, a.getRisk},
		{"PUT /api/v1/risks/{id}", writer, a.updateRisk},
		{"GET /api/v1/risks/{id}/history", reader, a.riskHistory},
		{"GET /api/v1/attack/techniques", reader, a.listTechniques},

		{"GET /api/v1/notifications", reader, a.listNotifications},
		{"GET /api/v1/notifications/matrix", admin, a.notificationMatrix},
		{"GET /api/v1/notifications/{id}", reader, a.getNotification},
		{"POST /api/v1/notifications/{id}/ack", writer, a.ackNotification},

		{"GET /api/v1/simulations", reader, a.listSimulations},
		{"POST /api/v1/simulations", writer, a.submitSimulation},
		{"GET /api/v1/simulations/{id}", reader, a.getSimulation},
		{"POST /api/v1/simulations/{id}/cancel", writer, a.cancelSimulation},
		{"GET /api/v1/simulations/{id}/trace", reader, a.traceSimulation},
		{"GET /api/v1/training/campaigns", reader, a.listCampaigns},
		{"POST /api/v1/training/campaigns", writer, a.createCampaign},
		{"GET /api/v1/training/campaigns/{id}", reader, a.getCampaign},
		{"DELETE /api/v1/training/campaigns/{id}", writer, a.deleteCampaign},
		{"POST /api/v1/training/campaigns/{id}/completions", writer, a.importTraining(training.Completions)},
		{"POST /api/v1/training/campaigns/{id}/phishing", writer, a.importTraining(training.Phishing)},
		{"POST /api/v1/training/campaigns/{id}/reach", writer, a.addReach},
		{"GET /api/v1/training/rates", reader, a.trainingRates},
		{"GET /api/v1/training/export", reader, a.exportTraining},
		{"POST /api/v1/training/forget", admin, a.forgetPerson},
	}, append(append(append(a.incidentRoutes(), a.feedRoutes()...), a.intelRoutes()...), a.intelPublishRoutes()...)...)
}

// wrap enforces rt's policy and turns a returned error into the response.
func (a *API) wrap(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rt.policy != public {
			p, ok := bulwark.PrincipalFrom(r.Context())
			if !ok {
				a.writeError(w, r, bulwark.Errorf(bulwark.EUNAUTHORIZED, "authentication required: send Authorization: Bearer <token>"))
				return
			}
			if !rt.policy.allows(p) {
				a.audit(r, bulwark.AuditEntry{Org: p.Org, Actor: p.Name, Action: "api.denied", Target: rt.pattern, Outcome: "denied", Detail: "role=" + string(p.Role)})
				a.writeError(w, r, bulwark.Errorf(bulwark.EFORBIDDEN, "your role (%s) may not %s", p.Role, describe(rt.pattern)))
				return
			}
			// Browsers send session cookies on their own, so a state-changing
			// request authenticated by one must also carry the session's CSRF
			// token (X-CSRF-Token); bearer-token requests pass.
			if r.Method != http.MethodGet && r.Method != http.MethodHead && a.auth != nil && !a.auth.CheckCSRF(r) {
				a.writeError(w, r, bulwark.Errorf(bulwark.EFORBIDDEN, "missing or invalid CSRF token: send the X-CSRF-Token header"))
				return
			}
		}
		if err := rt.handle(w, r); err != nil {
			a.writeError(w, r, err)
		}
	})
}

// describe turns "DELETE /api/v1/services/{id}" into "DELETE /api/v1/services/{id}"
// for messages; patterns carry no secrets.
func describe(pattern string) string { return strings.TrimSpace(pattern) }

func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.h.ServeHTTP(w, r)
}

// audit appends e, logging (not failing on) errors: the request is refused
// either way.
func (a *API) audit(r *http.Request, e bulwark.AuditEntry) {
	if err := a.st.AppendAudit(r.Context(), e); err != nil {
		a.log.Error("audit", "action", e.Action, "err", err)
	}
}

func principal(r *http.Request) bulwark.Principal {
	p, _ := bulwark.PrincipalFrom(r.Context())
	return p
}

func (a *API) healthz(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	return nil
}

func (a *API) openapi(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	w.Write(openapiJSON)
	return nil
}

func (a *API) me(w http.ResponseWriter, r *http.Request) error {
	p := principal(r)
	writeJSON(w, http.StatusOK, meDTO{UserID: p.UserID, Org: p.Org, Role: string(p.Role), Name: p.Name})
	return nil
}

func (a *API) counts(w http.ResponseWriter, r *http.Request) error {
	c, err := a.st.CountEntities(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, countsDTO(c))
	return nil
}
