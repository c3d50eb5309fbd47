package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"bulwark"
	"bulwark/internal/depgraph"
)

// graphInfo is the visible dependency graph of one request, analysed once:
// detail pages use it for names of dependencies and for impact.
type graphInfo struct {
	data   *bulwark.GraphData
	nodes  map[string]bulwark.GraphNode
	an     *depgraph.Analysis
	report *depgraph.Report
}

// loadGraph loads and analyses the caller's visible graph.
func (h *Handler) loadGraph(ctx context.Context) (*graphInfo, error) {
	gd, err := h.st.LoadGraph(ctx)
	if err != nil {
		return nil, fmt.Errorf("load graph: %w", err)
	}
	g, err := depgraph.Compile(gd)
	if err != nil {
		return nil, fmt.Errorf("compile graph: %w", err)
	}
	gi := &graphInfo{data: gd, nodes: make(map[string]bulwark.GraphNode, len(gd.Nodes)), an: depgraph.Analyze(g)}
	for _, n := range gd.Nodes {
		gi.nodes[n.ID] = n
	}
	return gi, nil
}

// fullReport is the ranking of every node (computed at most once).
func (gi *graphInfo) fullReport() *depgraph.Report {
	if gi.report == nil {
		gi.report = gi.an.Report(0)
	}
	return gi.report
}

// link names and links an entity if it is in the visible graph.
func (gi *graphInfo) link(id string) Link {
	n, ok := gi.nodes[id]
	if !ok {
		return Link{ID: id, Name: id}
	}
	name := n.Name
	if name == "" {
		name = id
	}
	return Link{ID: id, Name: name, Href: entityHref(n.Kind.String(), id)}
}

func (gi *graphInfo) deps(deps []bulwark.Dependency) []DepRow {
	rows := make([]DepRow, 0, len(deps))
	for _, d := range deps {
		kind := ""
		if n, ok := gi.nodes[d.On]; ok {
			kind = n.Kind.String()
		}
		dep := string(d.Kind)
		if dep == "" {
			dep = string(bulwark.Hard)
		}
		rows = append(rows, DepRow{On: gi.link(d.On), Kind: kind, Dep: dep, Group: d.Group})
	}
	return rows
}

// impact is the ranking row of one node, or nil when it takes nothing down.
func (gi *graphInfo) impact(id string) *NodeRow {
	for _, n := range gi.fullReport().Nodes {
		if n.ID == id {
			row := gi.nodeRow(n)
			return &row
		}
	}
	return nil
}

func (gi *graphInfo) nodeRow(n depgraph.NodeReport) NodeRow {
	row := NodeRow{
		Rank:             n.Rank,
		Node:             Link{ID: n.ID, Name: n.Name, Href: entityHref(n.Kind, n.ID)},
		Kind:             n.Kind,
		Owner:            n.Owner,
		Category:         n.Category,
		CIA:              CIA{C: n.Confidentiality, I: n.Integrity, A: n.Availability, Overall: n.Category},
		PopulationLost:   n.PopulationLost,
		ServicesDegraded: len(n.ServicesDegraded),
	}
	if row.Node.Name == "" {
		row.Node.Name = n.ID
	}
	for _, s := range n.ServicesLost {
		row.ServicesLost = append(row.ServicesLost, gi.link(s))
	}
	return row
}

// owners lists the visible organizations as filter choices.
func (h *Handler) owners(ctx context.Context) ([]Link, error) {
	page, err := h.st.ListOrganizations(ctx, bulwark.ListOptions{Limit: bulwark.MaxPageSize})
	if err != nil {
		return nil, fmt.Errorf("list organizations: %w", err)
	}
	links := make([]Link, 0, len(page.Items))
	for _, o := range page.Items {
		links = append(links, Link{ID: o.ID, Name: o.Name})
	}
	return links, nil
}

// listOptions reads the common filters and the cursor of a list page.
func listOptions(r *http.Request) bulwark.ListOptions {
	q := r.URL.Query()
	return bulwark.ListOptions{
		After: clip(q.Get("after")),
		Owner: clip(q.Get("owner")),
		Query: clip(q.Get("q")),
	}
}

// clip bounds a filter value: no ID or name is longer, and the store need
// not see megabytes of query string.
func clip(s string) string {
	return bulwark.Truncate(strings.TrimSpace(s), 200)
}

func firstURL(r *http.Request) string {
	if r.URL.Query().Get("after") == "" {
		return ""
	}
	return pageURL(r.URL.Path, r.URL.Query(), "")
}

func (h *Handler) dashboard(w http.ResponseWriter, r *http.Request, p bulwark.Principal) {
	ctx := r.Context()
	counts, err := h.st.CountEntities(ctx)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	page := &DashboardPage{Base: h.base(r, p, "dashboard", "Dashboard"), Counts: counts}
	page.Charts = true

	// Services per sector, in CISA's order, only sectors that have some.
	bySector := map[string]*SectorRow{}
	opt := bulwark.ListOptions{Limit: bulwark.MaxPageSize}
	for range 100 { // at most 100,000 services; a city has hundreds
		sp, err := h.st.ListServices(ctx, opt)
		if err != nil {
			h.fail(w, r, p, err)
			return
		}
		for _, s := range sp.Items {
			row := bySector[string(s.Sector)]
			if row == nil {
				row = &SectorRow{Sector: string(s.Sector)}
				bySector[string(s.Sector)] = row
			}
			row.Services++
			row.Population += s.Population
		}
		if sp.Next == "" {
			break
		}
		opt.After = sp.Next
	}
	chart := struct {
		Labels     []string `json:"labels"`
		Values     []int    `json:"values"`
		Population []int64  `json:"population"`
	}{Labels: []string{}, Values: []int{}, Population: []int64{}}
	for _, s := range bulwark.Sectors {
		if row := bySector[string(s)]; row != nil {
			page.Sectors = append(page.Sectors, *row)
			delete(bySector, string(s))
		}
	}
	for _, row := range bySector { // sectors outside the list, if a store allows any
		page.Sectors = append(page.Sectors, *row)
	}
	for _, row := range page.Sectors {
		chart.Labels = append(chart.Labels, row.Sector)
		chart.Values = append(chart.Values, row.Services)
		chart.Population = append(chart.Population, row.Population)
	}
	b, _ := json.Marshal(chart)
	page.SectorChart = string(b)

	gi, err := h.loadGraph(ctx)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	rep := gi.an.Report(10)
	for _, n := range rep.Nodes {
		if len(n.ServicesLost) > 0 {
			page.TopSPOFs = append(page.TopSPOFs, gi.nodeRow(n))
		}
	}
	page.Cycles = len(rep.Cycles)
	ex, err := h.loadExposure(ctx, p, "")
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	page.Exposure = ex.view
	h.render(w, r, http.StatusOK, "dashboard", page)
}

func (h *Handler) organizations(w http.ResponseWriter, r *http.Request, p bulwark.Principal) {
	opt := listOptions(r)
	orgs, err := h.st.ListOrganizations(r.Context(), opt)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	page := &OrganizationsPage{Base: h.base(r, p, "organizations", "Organizations"), First: firstURL(r)}
	for _, o := range orgs.Items {
		page.Orgs = append(page.Orgs, OrgRow{ID: o.ID, Name: o.Name, Purview: string(o.Purview), Contacts: o.Contacts, SharesWith: o.SharesWith})
	}
	if orgs.Next != "" {
		page.Next = pageURL(r.URL.Path, r.URL.Query(), orgs.Next)
	}
	h.render(w, r, http.StatusOK, "organizations", page)
}

func (h *Handler) services(w http.ResponseWriter, r *http.Request, p bulwark.Principal) {
	ctx := r.Context()
	opt := listOptions(r)
	opt.Sector = bulwark.Sector(clip(r.URL.Query().Get("sector")))
	if opt.Sector != "" && !bulwark.ValidSector(opt.Sector) {
		opt.Sector = ""
	}
	list, err := h.st.ListServices(ctx, opt)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	owners, err := h.owners(ctx)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	gi, err := h.loadGraph(ctx)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	reports := map[string]depgraph.ServiceReport{}
	for _, s := range gi.an.Report(1).Services {
		reports[s.ID] = s
	}
	page := &ServicesPage{
		Base:  h.base(r, p, "services", "Services"),
		Query: opt.Query, Sector: string(opt.Sector), Owner: opt.Owner,
		Owners: owners,
		First:  firstURL(r),
	}
	for _, s := range bulwark.Sectors {
		page.Sectors = append(page.Sectors, string(s))
	}
	for _, s := range list.Items {
		row := ServiceRow{
			Service:    Link{ID: s.ID, Name: s.Name, Href: entityHref("service", s.ID)},
			Sector:     string(s.Sector),
			Owner:      s.Owner,
			Population: s.Population,
			CIA:        ciaOf(s.Category),
			MTD:        formatDuration(s.Targets.MaxTolerableDowntime),
			RTO:        formatDuration(s.Targets.RTO),
			RPO:        formatDuration(s.Targets.RPO),
		}
		if rep, ok := reports[s.ID]; ok {
			row.Category = rep.Category
			for _, sp := range rep.SPOFs {
				if sp.CommonMode {
					row.CommonMode++
				} else {
					row.SPOFs++
				}
			}
		}
		page.Rows = append(page.Rows, row)
	}
	if list.Next != "" {
		page.Next = pageURL(r.URL.Path, r.URL.Query(), list.Next)
	}
	h.render(w, r, http.StatusOK, "services", page)
}

func (h *Handler) service(w http.ResponseWriter, r *http.Request, p bulwark.Principal) {
	ctx := r.Context()
	id := r.PathValue("id")
	s, err := h.st.FindService(ctx, id)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	gi, err := h.loadGraph(ctx)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	page := &ServicePage{
		Base:        h.base(r, p, "services", s.Name),
		Service:     Link{ID: s.ID, Name: s.Name, Href: entityHref("service", s.ID)},
		Description: s.Description,
		Sector:      string(s.Sector),
		Owner:       s.Owner,
		Population:  s.Population,
		CIA:         ciaOf(s.Category),
		MTD:         formatDuration(s.Targets.MaxTolerableDowntime),
		RTO:         formatDuration(s.Targets.RTO),
		RPO:         formatDuration(s.Targets.RPO),
		Groups:      s.Groups,
		DependsOn:   gi.deps(s.DependsOn),
		GraphURL:    "/services/" + url.PathEscape(s.ID) + "/graph.json",
	}
	page.Charts = true
	for _, rep := range gi.an.Report(1).Services {
		if rep.ID != s.ID {
			continue
		}
		page.Category = rep.Category
		for _, sp := range rep.SPOFs {
			name := sp.Name
			if name == "" {
				name = sp.ID
			}
			page.SPOFs = append(page.SPOFs, SPOFRow{Node: Link{ID: sp.ID, Name: name, Href: entityHref(sp.Kind, sp.ID)}, Kind: sp.Kind, CommonMode: sp.CommonMode})
		}
	}
	h.render(w, r, http.StatusOK, "service", page)
}

// GraphJSON is the dependency graph of one service as the graph script
// draws it.
type GraphJSON struct {
	Service   string      `json:"service"`
	Truncated bool        `json:"truncated"`
	Nodes     []GraphNode `json:"nodes"`
	Edges     []GraphEdge `json:"edges"`
}

// GraphNode is one node of GraphJSON.
type GraphNode struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Kind       string `json:"kind"`
	Owner      string `json:"owner"`
	Category   string `json:"category"`
	SPOF       bool   `json:"spof"`
	CommonMode bool   `json:"common_mode"`
	Count      int64  `json:"count"`
	Href       string `json:"href"`
	// Findings and WorstDecision count the open findings of an asset (or
	// of the leaves an aggregate node stands for); ExposedAssets is how
	// many assets with open findings the node depends on, itself included.
	Findings      int    `json:"findings,omitempty"`
	WorstDecision string `json:"worst_decision,omitempty"`
	ExposedAssets int    `json:"exposed_assets,omitempty"`
}

// GraphEdge is "From depends on To".
type GraphEdge struct {
	From  string `json:"from"`
	To    string `json:"to"`
	Kind  string `json:"kind"`
	Group string `json:"group,omitempty"`
}

func (h *Handler) serviceGraph(w http.ResponseWriter, r *http.Request, p bulwark.Principal) {
	id := r.PathValue("id")
	gi, err := h.loadGraph(r.Context())
	if err != nil {
		h.log.Error("web: graph", "service", id, "err", err)
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "internal error"})
		return
	}
	v, ok := gi.an.ServiceView(id)
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "service not found"})
		return
	}
	out := GraphJSON{Service: v.Service, Truncated: v.Truncated, Nodes: make([]GraphNode, 0, len(v.Nodes)), Edges: make([]GraphEdge, 0, len(v.Edges))}
	for _, n := range v.Nodes {
		href := ""
		if !strings.Contains(n.ID, "/") { // aggregate nodes ("dependent/kind") have no page
			href = entityHref(n.Kind, n.ID)
		}
		out.Nodes = append(out.Nodes, GraphNode{ID: n.ID, Name: n.Name, Kind: n.Kind, Owner: n.Owner, Category: n.Category,
			SPOF: n.SPOF, CommonMode: n.CommonMode, Count: n.Count, Href: href})
	}
	for _, e := range v.Edges {
		out.Edges = append(out.Edges, GraphEdge{From: e.From, To: e.To, Kind: e.Kind, Group: e.Group})
	}
	if err := h.markExposure(r.Context(), p, gi, &out); err != nil {
		h.log.Error("web: graph exposure", "service", id, "err", err)
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "internal error"})
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (h *Handler) systems(w http.ResponseWriter, r *http.Request, p bulwark.Principal) {
	ctx := r.Context()
	opt := listOptions(r)
	list, err := h.st.ListSystems(ctx, opt)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	owners, err := h.owners(ctx)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	page := &SystemsPage{Base: h.base(r, p, "systems", "Systems"), Query: opt.Query, Owner: opt.Owner, Owners: owners, First: firstURL(r)}
	for _, s := range list.Items {
		page.Rows = append(page.Rows, SystemRow{
			System:          Link{ID: s.ID, Name: s.Name, Href: entityHref("system", s.ID)},
			Owner:           s.Owner,
			Zone:            s.Zone,
			InternetExposed: s.InternetExposed,
			Restore:         formatDuration(s.Recovery.RestoreTime),
			Tested:          s.Recovery.Tested,
			Dependencies:    len(s.DependsOn),
		})
	}
	if list.Next != "" {
		page.Next = pageURL(r.URL.Path, r.URL.Query(), list.Next)
	}
	h.render(w, r, http.StatusOK, "systems", page)
}

// systemAssetsShown caps the assets listed on a system's page.
const systemAssetsShown = 100

func (h *Handler) system(w http.ResponseWriter, r *http.Request, p bulwark.Principal) {
	ctx := r.Context()
	s, err := h.st.FindSystem(ctx, r.PathValue("id"))
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	assets, err := h.st.ListAssets(ctx, bulwark.ListOptions{System: s.ID, Limit: systemAssetsShown})
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	gi, err := h.loadGraph(ctx)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	page := &SystemPage{
		Base:            h.base(r, p, "systems", s.Name),
		System:          Link{ID: s.ID, Name: s.Name, Href: entityHref("system", s.ID)},
		Description:     s.Description,
		Owner:           s.Owner,
		Zone:            s.Zone,
		InternetExposed: s.InternetExposed,
		Recovery: RecoveryView{
			RestoreTime:          formatDuration(s.Recovery.RestoreTime),
			RestoreTimeNoBackups: formatDuration(s.Recovery.RestoreTimeNoBackups),
			CrewSkill:            s.Recovery.CrewSkill,
			LastTested:           s.Recovery.LastTested,
			Tested:               s.Recovery.Tested,
		},
		Groups:    s.Groups,
		DependsOn: gi.deps(s.DependsOn),
		Impact:    gi.impact(s.ID),
	}
	for _, a := range assets.Items {
		page.Assets = append(page.Assets, assetRow(gi, a))
	}
	if assets.Next != "" {
		page.MoreAssets = "/assets?system=" + url.QueryEscape(s.ID)
	}
	h.render(w, r, http.StatusOK, "system", page)
}

func assetRow(gi *graphInfo, a bulwark.Asset) AssetRow {
	row := AssetRow{
		Asset:   Link{ID: a.ID, Name: a.Name, Href: entityHref("asset", a.ID)},
		Kind:    a.Kind,
		Vendor:  a.Vendor,
		Product: a.Product,
		Version: a.Version,
		Count:   max(a.Count, 1),
		Owner:   a.Owner,
		CPEs:    a.CPEs,
	}
	if a.System != "" {
		if gi != nil {
			row.System = gi.link(a.System)
		} else {
			row.System = Link{ID: a.System, Name: a.System, Href: entityHref("system", a.System)}
		}
	}
	return row
}

// assetKinds are the conventional asset kinds offered as filter choices
// (any kind can still be typed).
var assetKinds = []string{"application", "camera", "firewall", "gateway", "hmi", "plc", "radio", "router", "rtu", "sensor",
	"server", "smart-meter", "switch", "traffic-controller", "workstation"}

func (h *Handler) assets(w http.ResponseWriter, r *http.Request, p bulwark.Principal) {
	ctx := r.Context()
	opt := listOptions(r)
	opt.Kind = clip(r.URL.Query().Get("kind"))
	opt.System = clip(r.URL.Query().Get("system"))
	list, err := h.st.ListAssets(ctx, opt)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	counts, err := h.st.CountEntities(ctx)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	owners, err := h.owners(ctx)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	page := &AssetsPage{
		Base:  h.base(r, p, "assets", "Assets"),
		Query: opt.Query, Kind: opt.Kind, System: opt.System, Owner: opt.Owner,
		Owners: owners, Kinds: assetKinds,
		Total: counts.Assets, Units: counts.AssetUnits,
		First: firstURL(r),
	}
	for _, a := range list.Items {
		page.Rows = append(page.Rows, assetRow(nil, a))
	}
	if list.Next != "" {
		page.Next = pageURL(r.URL.Path, r.URL.Query(), list.Next)
	}
	h.render(w, r, http.StatusOK, "assets", page)
}

func (h *Handler) asset(w http.ResponseWriter, r *http.Request, p bulwark.Principal) {
	ctx := r.Context()
	a, err := h.st.FindAsset(ctx, r.PathValue("id"))
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	gi, err := h.loadGraph(ctx)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	page := &AssetPage{
		Base:      h.base(r, p, "assets", a.Name),
		Asset:     Link{ID: a.ID, Name: a.Name, Href: entityHref("asset", a.ID)},
		Owner:     a.Owner,
		Kind:      a.Kind,
		Vendor:    a.Vendor,
		Product:   a.Product,
		Version:   a.Version,
		Count:     max(a.Count, 1),
		CPEs:      a.CPEs,
		PURLs:     a.PURLs,
		Location:  a.Location,
		HasLatLon: a.Location.Lat != 0 || a.Location.Lon != 0,
		Group:     a.SystemGroup,
		DependsOn: gi.deps(a.DependsOn),
		Impact:    gi.impact(a.ID),
	}
	if a.System != "" {
		page.System = gi.link(a.System)
		page.SystemDep = string(a.SystemDependency)
		if page.SystemDep == "" {
			page.SystemDep = string(bulwark.Hard)
		}
	}
	if page.Findings, page.MoreFindings, err = h.assetFindings(ctx, a.ID); err != nil {
		h.fail(w, r, p, err)
		return
	}
	h.render(w, r, http.StatusOK, "asset", page)
}

// criticalityRows is how many nodes the ranking page lists; criticalityBars
// how many of them the chart shows.
const (
	criticalityRows = 100
	criticalityBars = 20
)

func (h *Handler) criticality(w http.ResponseWriter, r *http.Request, p bulwark.Principal) {
	gi, err := h.loadGraph(r.Context())
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	rep := gi.an.Report(criticalityRows)
	page := &CriticalityPage{Base: h.base(r, p, "criticality", "Criticality"), Cycles: rep.Cycles, Limit: criticalityRows, Total: int64(len(gi.nodes))}
	page.Charts = true
	for _, n := range rep.Nodes {
		page.Rows = append(page.Rows, gi.nodeRow(n))
	}
	// The chart ranks by population at risk, which may differ from the
	// table's order.
	bars := slices.Clone(page.Rows)
	slices.SortStableFunc(bars, func(a, b NodeRow) int {
		switch {
		case a.PopulationLost > b.PopulationLost:
			return -1
		case a.PopulationLost < b.PopulationLost:
			return 1
		}
		return 0
	})
	chart := struct {
		Labels []string `json:"labels"`
		Values []int64  `json:"values"`
	}{Labels: []string{}, Values: []int64{}}
	for _, b := range bars {
		if len(chart.Labels) == criticalityBars || b.PopulationLost == 0 {
			break
		}
		chart.Labels = append(chart.Labels, b.Node.Name)
		chart.Values = append(chart.Values, b.PopulationLost)
	}
	j, _ := json.Marshal(chart)
	page.Chart = string(j)
	h.render(w, r, http.StatusOK, "criticality", page)
}
