// Package web serves Bulwark's browser interface: server-rendered HTML pages
// (html/template, parsed once at start, one typed view model per page) with
// light progressive enhancement by htmx, and charts drawn by Apache ECharts
// from JSON the server emits. Every asset is embedded, so the binary works
// offline, and no page needs inline script or style, so the Content Security
// Policy can forbid both.
//
// Pages read through bulwark.Store with the Principal that the auth
// middleware put in the request context, so the store scopes every listing
// to the caller's organization (and those that share with it).
package web

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"

	"bulwark"
	"bulwark/internal/auth"
	"bulwark/internal/baseline"
	"bulwark/internal/httperr"
	"bulwark/internal/incident"
	"bulwark/internal/intelfeed"
	"bulwark/internal/notify"
	"bulwark/internal/risk"
	"bulwark/internal/sharing"
	"bulwark/internal/simrun"
	"bulwark/internal/vulns"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// ContentSecurityPolicy is set on every response of the web handler unless
// an outer middleware set one already. It allows scripts, styles and
// fetches from this origin only: no inline script or style, no eval, no
// framing, and forms may post only here.
const ContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// Handler serves the pages. Create it with New.
type Handler struct {
	st    bulwark.Store
	auth  *auth.Service
	vulns *vulns.Service // explanations and advisories, over st
	// baselines serves catalogs, assessments, profiles, gaps and the
	// readiness index, over st.
	baselines *baseline.Service
	// risks is the risk register, over st.
	risks *risk.Service
	// incidents is the incident service, over st.
	incidents *incident.Service
	// notify lists and acknowledges notifications, over st.
	notify *notify.Service
	// sims submits and reads simulation runs.
	sims  *simrun.Service
	log   *slog.Logger
	pages map[string]*template.Template
	mux   *http.ServeMux
	// loginKey signs the anti-forgery token of the login form, which has
	// no session to bind a token to yet.
	loginKey []byte

	// intelFeedSvc lists intel feed subscriptions and queues pulls.
	intelFeedSvc *intelfeed.Service
	// sharing serves communities, collections and intel objects (it alone
	// applies the TLP rule).
	sharing *sharing.Service
}

// New parses the templates and returns the handler of every page and of
// /static/. It fails only if a template does not parse, which is a bug.
func New(st bulwark.Store, a *auth.Service, log *slog.Logger) (http.Handler, error) {
	return NewWith(st, Services{}, a, log)
}

// Services are the process's shared capability services; a nil one is
// created for the handler alone.
type Services struct {
	Vulns     *vulns.Service
	Baselines *baseline.Service
	Risks     *risk.Service
	// Sims runs simulations; a nil one reads runs and refuses submissions
	// (no job queue).
	Sims      *simrun.Service
	Incidents *incident.Service
	Notify    *notify.Service
	// Feeds manages intel feed subscriptions; a nil one has no job queue
	// (its "pull now" is refused).
	Feeds *intelfeed.Service
	// Sharing is the intel-sharing service; a nil one is created over st.
	Sharing *sharing.Service
}

// NewWith is New with the process's services.
func NewWith(st bulwark.Store, svc Services, a *auth.Service, log *slog.Logger) (http.Handler, error) {
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
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	key, err := randomKey()
	if err != nil {
		return nil, err
	}
	h := &Handler{st: st, auth: a, vulns: svc.Vulns, baselines: svc.Baselines, risks: svc.Risks, incidents: svc.Incidents, notify: svc.Notify, sims: svc.Sims, intelFeedSvc: svc.Feeds, sharing: svc.Sharing, log: log, pages: pages, mux: http.NewServeMux(), loginKey: key}
	h.routes()
	return h, nil
}

// routes registers every route in one place.
func (h *Handler) routes() {
	static, _ := fs.Sub(staticFS, "static")
	h.mux.Handle("GET /static/", http.StripPrefix("/static/", staticHandler(static)))

	h.mux.HandleFunc("GET /login", h.loginForm)
	h.mux.HandleFunc("POST /login", h.login)
	h.mux.HandleFunc("POST /logout", h.logout)

	h.mux.Handle("GET /{$}", h.user(h.dashboard))
	h.mux.Handle("GET /organizations", h.user(h.organizations))
	h.mux.Handle("GET /services", h.user(h.services))
	h.mux.Handle("GET /services/{id}", h.user(h.service))
	h.mux.Handle("GET /services/{id}/graph.json", h.userJSON(h.serviceGraph))
	h.mux.Handle("GET /systems", h.user(h.systems))
	h.mux.Handle("GET /systems/{id}", h.user(h.system))
	h.mux.Handle("GET /assets", h.user(h.assets))
	h.mux.Handle("GET /assets/{id}", h.user(h.asset))
	h.mux.Handle("GET /criticality", h.user(h.criticality))
	h.mux.Handle("GET /findings", h.user(h.findings))
	h.mux.Handle("GET /findings/{asset}/{vuln}", h.user(h.finding))
	h.mux.Handle("POST /findings/{asset}/{vuln}", h.user(h.updateFinding))
	h.mux.Handle("GET /vulnerabilities/{id}", h.user(h.vulnerability))
	h.mux.Handle("GET /feeds", h.user(h.feeds))
	h.mux.Handle("GET /advisories", h.user(h.advisories))

	h.mux.Handle("GET /readiness", h.user(h.readiness))
	h.mux.Handle("POST /readiness/record", h.user(h.recordReadiness))
	h.mux.Handle("GET /readiness/report.html", h.user(h.readinessReport))
	h.mux.Handle("GET /readiness/report.pdf", h.user(h.readinessReport))
	h.mux.Handle("GET /assessments", h.user(h.assessments))
	h.mux.Handle("POST /assessments", h.user(h.createAssessment))
	h.mux.Handle("GET /assessments/{id}", h.user(h.assessment))
	h.mux.Handle("GET /assessments/{id}/export.json", h.user(h.exportAssessment))
	h.mux.Handle("GET /assessments/{id}/export.csv", h.user(h.exportAssessment))
	h.mux.Handle("GET /assessments/{id}/results/{control}", h.user(h.resultHistory))
	h.mux.Handle("POST /assessments/{id}/results/{control}", h.user(h.setResult))
	h.mux.Handle("GET /profiles", h.user(h.profiles))
	h.mux.Handle("GET /profiles/{id}", h.user(h.profile))
	h.mux.Handle("GET /gaps", h.user(h.gaps))
	h.mux.Handle("GET /risks", h.user(h.riskRegister))
	h.mux.Handle("POST /risks", h.user(h.createRisk))
	h.mux.Handle("GET /risks/analysis", h.user(h.riskAnalysis))
	h.mux.Handle("GET /risks/{id}", h.user(h.riskPage))
	h.mux.Handle("POST /risks/{id}", h.user(h.updateRisk))
	h.mux.Handle("GET /simulations", h.user(h.simulations))
	h.mux.Handle("POST /simulations", h.user(h.submitSimulation))
	h.mux.Handle("GET /simulations/{id}", h.user(h.simulation))
	h.mux.Handle("POST /simulations/{id}/cancel", h.user(h.cancelSimulation))
	h.mux.Handle("GET /simulations/{id}/trace.json", h.userJSON(h.simulationTrace))
	h.incidentRoutes()
	h.trainingRoutes()
	h.mux.Handle("GET /notifications", h.user(h.notifications))
	h.intelRoutes()
	h.shareRoutes()
	h.mux.Handle("GET /intel/feeds", h.user(h.intelFeeds))
	h.mux.Handle("POST /intel/feeds/{id}/pull", h.user(h.pullIntelFeed))
	h.mux.Handle("GET /notifications/{id}", h.user(h.notificationPage))
	h.mux.Handle("POST /notifications/{id}/ack", h.user(h.ackNotification))
	// An e-mail's ack link: no login, the token is the credential.
	h.mux.HandleFunc("GET /ack/{token}", h.ackLink)
	h.mux.HandleFunc("POST /ack/{token}", h.ackLinkPost)
	h.mux.Handle("/", h.user(h.notFound))
}

// ServeHTTP sets the security headers the pages rely on and authenticates
// the caller unless an outer middleware did already.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	if hdr.Get("Content-Security-Policy") == "" {
		hdr.Set("Content-Security-Policy", ContentSecurityPolicy)
	}
	hdr.Set("X-Content-Type-Options", "nosniff")
	if hdr.Get("Referrer-Policy") == "" {
		hdr.Set("Referrer-Policy", "same-origin")
	}
	if _, ok := bulwark.PrincipalFrom(r.Context()); ok || h.auth == nil {
		h.mux.ServeHTTP(w, r)
		return
	}
	h.auth.Middleware(h.mux).ServeHTTP(w, r)
}

// user wraps a page that needs a logged-in user: anyone else is sent to
// the login page, which returns them here afterwards.
func (h *Handler) user(page func(http.ResponseWriter, *http.Request, bulwark.Principal)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := bulwark.PrincipalFrom(r.Context())
		if !ok {
			target := "/login"
			if r.URL.Path != "/" {
				target += "?next=" + urlQueryEscape(r.URL.RequestURI())
			}
			http.Redirect(w, r, target, http.StatusSeeOther)
			return
		}
		page(w, r, p)
	})
}

// userJSON wraps a JSON endpoint used by page scripts: without a user it
// answers 401 rather than redirecting a fetch to an HTML page.
func (h *Handler) userJSON(fn func(http.ResponseWriter, *http.Request, bulwark.Principal)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := bulwark.PrincipalFrom(r.Context())
		if !ok {
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "login required"})
			return
		}
		fn(w, r, p)
	})
}

// render executes page into a buffer first, so that a template error gives
// a clean 500 instead of half a page.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, page string, data any) {
	t, ok := h.pages[page]
	if !ok {
		h.log.Error("web: unknown page", "page", page)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", data); err != nil {
		h.log.Error("web: render", "page", page, "path", r.URL.Path, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// fail renders the error page for err: the safe message of a
// *bulwark.Error, or "internal error" (logged) for anything else.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, p bulwark.Principal, err error) {
	status := httperr.StatusOf(err)
	msg := bulwark.ErrorMessage(err)
	if status == http.StatusInternalServerError || status == http.StatusServiceUnavailable {
		h.log.Error("web: request failed", "path", r.URL.Path, "err", err)
		msg = "Something went wrong on our side. Please try again later."
	}
	h.render(w, r, status, "error", &ErrorPage{
		Base:    h.base(r, p, "", "Error"),
		Status:  status,
		Message: msg,
	})
}

func (h *Handler) notFound(w http.ResponseWriter, r *http.Request, p bulwark.Principal) {
	h.fail(w, r, p, bulwark.Errorf(bulwark.ENOTFOUND, "There is no page at %s.", r.URL.Path))
}

// writeJSON writes v as JSON. encoding/json escapes <, > and & so the
// output is inert even if a browser were tricked into reading it as HTML.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// staticHandler serves the embedded assets. They change only with the
// binary, so browsers may cache them for a day.
func staticHandler(fsys fs.FS) http.Handler {
	files := http.FileServerFS(fsys)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "" || strings.HasSuffix(r.URL.Path, "/") {
			http.NotFound(w, r) // no directory listings
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=86400")
		files.ServeHTTP(w, r)
	})
}

// parsePages parses every page template together with the shared layout,
// once, at start.
func parsePages() (map[string]*template.Template, error) {
	base, err := template.New("base").Funcs(funcs).ParseFS(templateFS, "templates/layout.html")
	if err != nil {
		return nil, fmt.Errorf("web: parse layout: %w", err)
	}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("web: list templates: %w", err)
	}
	pages := make(map[string]*template.Template)
	for _, name := range names {
		page := strings.TrimSuffix(strings.TrimPrefix(name, "templates/"), ".html")
		if page == "layout" {
			continue
		}
		t, err := base.Clone()
		if err != nil {
			return nil, fmt.Errorf("web: clone layout: %w", err)
		}
		if _, err := t.ParseFS(templateFS, name); err != nil {
			return nil, fmt.Errorf("web: parse %s: %w", name, err)
		}
		pages[page] = t
	}
	if len(pages) == 0 {
		return nil, errors.New("web: no page templates")
	}
	return pages, nil
}
