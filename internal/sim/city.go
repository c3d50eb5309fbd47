package sim

import (
	"bulwark"
	"bulwark/internal/depgraph"
)

// ConfigFromCity derives a Config from a city model compiled into g: each
// system's declared recovery (see RecoveryFrom), each asset the recovery
// of its system with def's times (an asset is re-imaged or replaced by the
// same crew), services and everything else def; the services' RTO and
// maximum tolerable downtime as targets. Crews default to one per owner
// and skill.
func ConfigFromCity(c *bulwark.City, g *depgraph.Graph, def Recovery) Config {
	cfg := Config{Profiles: []Recovery{def}, NodeProfile: make([]uint16, g.Len()), Targets: map[string]Targets{}}
	index := map[Recovery]uint16{def: 0}
	profile := func(r Recovery) uint16 {
		p, ok := index[r]
		if !ok && len(cfg.Profiles) < 1<<16-1 {
			p = uint16(len(cfg.Profiles))
			index[r] = p
			cfg.Profiles = append(cfg.Profiles, r)
		}
		return p
	}
	skill := map[string]string{}
	for _, s := range c.Systems {
		r := RecoveryFrom(s.Recovery, def)
		skill[s.ID] = r.Skill
		if x, ok := g.Lookup(s.ID); ok {
			cfg.NodeProfile[x] = profile(r)
		}
	}
	for _, a := range c.Assets {
		sk, ok := skill[a.System]
		if !ok {
			continue
		}
		r := def
		r.Skill = sk
		if x, ok := g.Lookup(a.ID); ok {
			cfg.NodeProfile[x] = profile(r)
		}
	}
	for _, s := range c.Services {
		t := Targets{RTO: s.Targets.RTO.Hours(), MTD: s.Targets.MaxTolerableDowntime.Hours()}
		if t != (Targets{}) {
			cfg.Targets[s.ID] = t
		}
	}
	return cfg
}
