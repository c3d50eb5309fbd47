#!/usr/bin/env python3
"""simcheck: an independent model of Bulwark's cascade and recovery simulation.

It reads a neutral graph file and a draws file written by
`bulwark simulate --write-graph G --write-draws D` (docs/neutral-format.md)
and replays every trial with its own implementation of the semantics of
docs/simulation.md, in plain Python on a NetworkX graph:

  * a node is failed while it has an unrestored direct hit, a failed
    ungrouped hard dependency, or a hard redundancy group (one with a hard
    member) with more than size - need members failed; the failed set is
    the least fixpoint of these rules (cycles whose hits are restored come
    back);
  * each hit of a crew event is restored by one crew of the node's
    (owner, skill) pool, in priority order (higher first, then node ID,
    then queue order), non-preemptively; hits of a self-restoring event end
    after the event's duration;
  * per trial: each service's hours down and longest outage, person-hours
    lost, whether the goal held, and the number of node failures.

The failure logic is deliberately different from Bulwark's (which keeps a
counter per node): here a node's rule is evaluated directly against the
failed set; failure spreads forward from a hit, and a restoration
re-examines what depended on the restored node, recomputing a cyclic
component's least fixpoint from scratch. Only the draws (what was hit,
when, and how long each restoration takes) are shared with Bulwark.

    simcheck.py GRAPH DRAWS [-o OUTCOMES] [--compare BULWARK_OUTCOMES]
                [--trials N] [--stats]

Writes an outcomes file (the format Bulwark writes with --write-outcomes);
with --compare, checks it trial by trial against Bulwark's and exits 1 at
the first difference. --stats prints the graph's build time and memory and
the time per trial to standard error.
"""

import argparse
import heapq
import resource
import sys
import time

import networkx as nx

# Event queue kinds, in Bulwark's order of no importance: simultaneous
# items are taken in the order they were queued.
START, CREW_DONE, BACK_ON = 0, 1, 2


class FormatError(Exception):
    pass


def unescape(s):
    """Undo the neutral format's escaping: %25 %09 %0A %0D."""
    if "%" not in s:
        return s
    out, i = [], 0
    table = {"25": "%", "09": "\t", "0A": "\n", "0D": "\r"}
    while i < len(s):
        c = s[i]
        if c == "%":
            code = s[i + 1:i + 3].upper()
            if code not in table:
                raise FormatError("bad escape in %r" % s)
            out.append(table[code])
            i += 3
        else:
            out.append(c)
            i += 1
    return "".join(out)


def records(path):
    """Yield (line number, fields) of a neutral file, skipping comments."""
    with open(path, encoding="utf-8", newline="\n") as f:
        for n, line in enumerate(f, 1):
            if not line.endswith("\n"):
                raise FormatError("%s:%d: truncated line" % (path, n))
            line = line[:-1].rstrip("\r")
            if not line or line.startswith("#"):
                continue
            yield n, [unescape(x) for x in line.split("\t")]


class Model:
    """The city: a NetworkX DiGraph (an edge x -> y: x depends on y) and
    what the failure rules and the crews need, derived from it once."""

    def __init__(self, path):
        t0 = time.perf_counter()
        G = nx.DiGraph()
        skills = []             # recovery profile -> crew skill
        self.crews = {}         # (owner, skill) -> crews
        self.groups = {}        # (owner, group id) -> need
        it = records(path)
        n, f = next(it)
        if f != ["bulwark-sim-graph", "1"]:
            raise FormatError("%s:%d: not a bulwark-sim-graph 1 file" % (path, n))
        ended = False
        for n, f in it:
            kind = f[0]
            if kind == "recovery":
                skills.append(f[2])
            elif kind == "crews":
                self.crews[(f[1], f[2])] = int(f[3])
            elif kind == "node":
                G.add_node(f[1], kind=f[2], owner=f[3], skill=skills[int(f[4])],
                           prio=int(f[5]), pop=int(f[6]), critical=f[7] == "1")
            elif kind == "group":
                self.groups[(f[1], f[2])] = int(f[3])
            elif kind == "edge":
                G.add_edge(f[1], f[2], hard=f[3] == "hard", group=f[4] or None)
            elif kind == "end":
                ended = True
            else:
                raise FormatError("%s:%d: unknown record %r" % (path, n, kind))
        if not ended:
            raise FormatError("%s: no end line (truncated?)" % path)
        self.G = G
        self.read_s = time.perf_counter() - t0
        self.derive()
        self.build_s = time.perf_counter() - t0

    def derive(self):
        G = self.G
        # Redundancy groups: members, threshold, hard when a member is hard.
        members = {}
        hard_group = {}
        for x, y, a in G.edges(data=True):
            g = a["group"]
            if g is not None:
                members.setdefault((x, g), []).append(y)
                hard_group[(x, g)] = hard_group.get((x, g), False) or a["hard"]
        self.hard_deps = {}     # node -> ungrouped hard dependencies
        self.hard_groups = {}   # node -> [(members, members down to fail)]
        self.dependents = {}    # node -> nodes whose rule names it
        for x in G:
            self.hard_deps[x] = [y for y, a in G.succ[x].items() if a["group"] is None and a["hard"]]
            self.hard_groups[x] = []
            self.dependents[x] = []
        for (x, g), ms in members.items():
            if hard_group[(x, g)]:
                self.hard_groups[x].append((ms, len(ms) - self.groups[(x, g)] + 1))
        for x in G:
            for y in self.hard_deps[x]:
                self.dependents[y].append(x)
            for ms, _ in self.hard_groups[x]:
                for y in ms:
                    self.dependents[y].append(x)
        # Cyclic components of the graph of failure rules.
        fail = nx.DiGraph()
        fail.add_nodes_from(G)
        fail.add_edges_from((x, y) for y, xs in self.dependents.items() for x in xs)
        self.comp = {}          # node on a cycle -> its component's members
        for c in nx.strongly_connected_components(fail):
            if len(c) > 1:
                ms = sorted(c)
                for x in ms:
                    self.comp[x] = ms
        for x, _ in nx.selfloop_edges(fail):
            self.comp.setdefault(x, [x])
        del fail
        self.services = sorted(x for x, a in G.nodes(data=True) if a["kind"] == "service")
        self.is_service = {x: True for x in self.services}
        self.ncrit = sum(1 for x in self.services if G.nodes[x]["critical"])
        self.pool = {x: (a["owner"], a["skill"]) for x, a in G.nodes(data=True)}
        for x, p in self.pool.items():
            if p not in self.crews:
                raise FormatError("node %s: no crews for owner %r, skill %r" % (x, p[0], p[1]))


class Trial:
    """One trial's state and its replay."""

    def __init__(self, model, horizon, goal):
        self.m = model
        self.horizon = horizon
        self.share, self.within = goal
        self.direct = {}        # node -> unrestored direct hits
        self.failed = set()
        self.since = {}         # service -> start of its outage
        self.down = {}          # service -> hours down
        self.longest = {}
        self.loss = 0.0
        self.nfailed = 0
        self.crit_down = 0
        self.queue = []
        self.seq = 0
        self.free = {}          # pool -> idle crews
        self.waiting = {}       # pool -> heap of (-priority, node, seq, hours)
        self.jseq = 0
        self.pending = []       # pools to dispatch, in the order they got ready
        self.pending_set = set()

    def push(self, t, kind, what):
        heapq.heappush(self.queue, (t, self.seq, kind, what))
        self.seq += 1

    def rule(self, v):
        """Is v failed, given the failed set?"""
        if self.direct.get(v, 0) > 0:
            return True
        failed = self.failed
        for y in self.m.hard_deps[v]:
            if y in failed:
                return True
        for ms, limit in self.m.hard_groups[v]:
            n = 0
            for y in ms:
                if y in failed:
                    n += 1
            if n >= limit:
                return True
        return False

    def went_down(self, v, t):
        if v in self.m.is_service:
            self.since[v] = t
            if self.m.G.nodes[v]["critical"]:
                self.crit_down += 1

    def came_up(self, v, t):
        if v in self.m.is_service:
            d = t - self.since.pop(v)
            self.down[v] = self.down.get(v, 0.0) + d
            self.longest[v] = max(self.longest.get(v, 0.0), d)
            self.loss += d * self.m.G.nodes[v]["pop"]
            if self.m.G.nodes[v]["critical"]:
                self.crit_down -= 1

    def spread(self, x, t):
        """x is newly failed: fail everything whose rule now holds."""
        failed, deps = self.failed, self.m.dependents
        failed.add(x)
        self.nfailed += 1
        self.went_down(x, t)
        stack = [x]
        while stack:
            y = stack.pop()
            for v in deps[y]:
                if v not in failed and self.rule(v):
                    failed.add(v)
                    self.nfailed += 1
                    self.went_down(v, t)
                    stack.append(v)

    def settle(self, x, t):
        """A support of x's failure may be gone: bring up what no longer
        holds, x first, then what depended on what came up."""
        failed, deps, comp = self.failed, self.m.dependents, self.m.comp
        stack = [x]
        while stack:
            v = stack.pop()
            if v not in failed:
                continue
            c = comp.get(v)
            if c is None:
                if not self.rule(v):
                    failed.discard(v)
                    self.came_up(v, t)
                    stack.extend(deps[v])
                continue
            # A cyclic component: its least fixpoint from scratch, given
            # the rest of the graph.
            before = [u for u in c if u in failed]
            was = set(before)
            for u in before:
                failed.discard(u)
            changed = True
            while changed:
                changed = False
                for u in c:
                    if u not in failed and self.rule(u):
                        failed.add(u)
                        changed = True
            for u in c:
                if u in failed and u not in was:
                    raise AssertionError("component member %s failed without a new cause" % u)
            for u in before:
                if u not in failed:
                    self.came_up(u, t)
                    stack.extend(deps[u])

    def hit(self, x, t, external, hours):
        self.direct[x] = self.direct.get(x, 0) + 1
        if x not in self.failed:
            self.spread(x, t)
        if external:
            self.push(t + hours, BACK_ON, x)
            return
        p = self.m.pool[x]
        if p not in self.free:
            self.free[p] = self.m.crews[p]
            self.waiting[p] = []
        heapq.heappush(self.waiting[p], (-self.m.G.nodes[x]["prio"], x, self.jseq, hours))
        self.jseq += 1
        self.ready(p)

    def ready(self, p):
        if p not in self.pending_set:
            self.pending_set.add(p)
            self.pending.append(p)

    def restored(self, x, t):
        self.direct[x] -= 1
        if self.direct[x] == 0:
            self.settle(x, t)

    def dispatch(self, t):
        for p in self.pending:
            w = self.waiting[p]
            while self.free[p] > 0 and w:
                _, x, _, hours = heapq.heappop(w)
                self.free[p] -= 1
                self.push(t + hours, CREW_DONE, x)
        self.pending = []
        self.pending_set = set()

    def run(self, events):
        """events: [(start, external, duration, [(node, hours)])] in
        scenario order."""
        for ev in events:
            if ev[0] <= self.horizon:
                self.push(ev[0], START, ev)
        snapped, crit_at = False, 0
        q = self.queue
        while q and q[0][0] <= self.horizon:
            t, _, kind, what = heapq.heappop(q)
            if not snapped and t > self.within:
                snapped, crit_at = True, self.crit_down
            if kind == START:
                _, external, _, hits = what
                for x, hours in hits:
                    self.hit(x, t, external, hours)
            elif kind == CREW_DONE:
                self.restored(what, t)
                p = self.m.pool[what]
                self.free[p] += 1
                self.ready(p)
            else:
                self.restored(what, t)
            if not q or q[0][0] > t:
                self.dispatch(t)
        if not snapped:
            crit_at = self.crit_down
        for s in self.m.services:
            if s in self.failed:
                self.came_up(s, self.horizon)
        n = self.m.ncrit
        self.goal = n == 0 or (n - crit_at) >= self.share * n - 1e-9


def read_draws(path, model):
    """Yield the header, then each trial's events."""
    it = records(path)
    n, f = next(it)
    if f != ["bulwark-sim-draws", "1"]:
        raise FormatError("%s:%d: not a bulwark-sim-draws 1 file" % (path, n))
    head = {}
    events = []
    for n, f in it:
        if f[0] == "event":
            events.append(f[3] == "self")
            continue
        if f[0] in ("trial", "end"):
            break
        head[f[0]] = f[1:]
    else:
        raise FormatError("%s: no end line (truncated?)" % path)
    if int(head["nodes"][0]) != model.G.number_of_nodes():
        raise FormatError("%s: draws for %s nodes, the graph has %d" % (path, head["nodes"][0], model.G.number_of_nodes()))
    yield {"horizon": float(head["horizon"][0]),
           "goal": (float(head["goal"][0]), float(head["goal"][1])),
           "trials": int(head["trials"][0])}
    trial = None
    while True:
        if f[0] == "end":
            if trial is not None:
                yield trial
            return
        if f[0] == "trial":
            if trial is not None:
                yield trial
            trial = []
        elif f[0] == "start":
            ext = events[int(f[1])]
            trial.append((float(f[2]), ext, float(f[3]) if ext else 0.0, []))
        elif f[0] == "hit":
            ev = trial[-1]
            ev[3].append((f[1], ev[2] if ev[1] else float(f[2])))
        else:
            raise FormatError("%s:%d: unknown record %r" % (path, n, f[0]))
        try:
            n, f = next(it)
        except StopIteration:
            raise FormatError("%s: no end line (truncated?)" % path)


def read_outcomes(path):
    """Yield (trial, loss, goal, failed, {service: (down, longest)})."""
    it = records(path)
    n, f = next(it)
    if f != ["bulwark-sim-outcomes", "1"]:
        raise FormatError("%s:%d: not a bulwark-sim-outcomes 1 file" % (path, n))
    cur = None
    for n, f in it:
        if f[0] == "trial":
            if cur:
                yield cur
            cur = (int(f[1]), float(f[2]), f[3] == "1", int(f[4]), {})
        elif f[0] == "down":
            cur[4][f[1]] = (float(f[2]), float(f[3]))
        elif f[0] == "end":
            if cur:
                yield cur
            return
    raise FormatError("%s: no end line (truncated?)" % path)


def near(a, b, tol=1e-9):
    return abs(a - b) <= tol * max(1.0, abs(a), abs(b))


def compare(mine, theirs, trial):
    """None when the two outcomes agree, else what differs."""
    _, l1, g1, f1, d1 = mine
    _, l2, g2, f2, d2 = theirs
    if f1 != f2 or g1 != g2 or not near(l1, l2):
        return "failures %d, goal %s, loss %r here; %d, %s, %r there" % (f1, g1, l1, f2, g2, l2)
    if sorted(d1) != sorted(d2):
        return "services down %s here; %s there" % (sorted(d1), sorted(d2))
    for s in sorted(d1):
        if not (near(d1[s][0], d2[s][0]) and near(d1[s][1], d2[s][1])):
            return "%s down %r h (longest %r) here; %r h (%r) there" % (s, d1[s][0], d1[s][1], d2[s][0], d2[s][1])
    return None


def rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 1e6


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("graph")
    ap.add_argument("draws")
    ap.add_argument("-o", "--output", help="outcomes file to write (default: standard output)")
    ap.add_argument("--compare", metavar="OUTCOMES", help="Bulwark's outcomes file to check against")
    ap.add_argument("--trials", type=int, default=0, help="stop after this many trials")
    ap.add_argument("--stats", action="store_true", help="timings and memory on standard error")
    a = ap.parse_args()

    base = rss_mb()
    model = Model(a.graph)
    if a.stats:
        G = model.G
        print("graph: %d nodes, %d edges; read into NetworkX in %.2f s, with derived rules %.2f s; "
              "memory %.0f MB (RSS %.0f MB, peak %.0f MB)" % (
                  G.number_of_nodes(), G.number_of_edges(), model.read_s, model.build_s,
                  rss_mb() - base, rss_mb(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3),
              file=sys.stderr)
    out = open(a.output, "w", encoding="utf-8", newline="\n") if a.output else sys.stdout
    theirs = read_outcomes(a.compare) if a.compare else None
    draws = read_draws(a.draws, model)
    head = next(draws)
    out.write("bulwark-sim-outcomes\t1\n")
    done, spent, failures, status = 0, 0.0, 0, 0
    for i, events in enumerate(draws):
        if a.trials and i >= a.trials:
            break
        t0 = time.perf_counter()
        tr = Trial(model, head["horizon"], head["goal"])
        tr.run(events)
        spent += time.perf_counter() - t0
        failures += tr.nfailed
        done += 1
        out.write("trial\t%d\t%r\t%d\t%d\n" % (i, tr.loss, tr.goal, tr.nfailed))
        downs = {}
        for s in sorted(tr.down):
            if tr.down[s] > 0:
                out.write("down\t%s\t%r\t%r\n" % (s, tr.down[s], tr.longest[s]))
                downs[s] = (tr.down[s], tr.longest[s])
        if theirs is not None:
            other = next(theirs, None)
            if other is None:
                print("simcheck: %s has fewer trials than the draws (%d)" % (a.compare, i), file=sys.stderr)
                status = 1
                break
            diff = compare((i, tr.loss, tr.goal, tr.nfailed, downs), other, i)
            if diff:
                print("simcheck: trial %d differs: %s" % (i, diff), file=sys.stderr)
                status = 1
                break
    out.write("end\n")
    if a.output:
        out.close()
    if a.stats and done:
        print("trials: %d in %.2f s, %.1f ms per trial, %.0f node failures per trial" % (
            done, spent, 1e3 * spent / done, failures / done), file=sys.stderr)
    if theirs is not None and status == 0:
        print("simcheck: %d trials agree with %s" % (done, a.compare), file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())
