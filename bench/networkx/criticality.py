#!/usr/bin/env python3
"""Peer benchmark: single-failure criticality of a city graph with networkx.

Reads the tab-separated export of internal/depgraph's synthetic city
(N/G/E lines, see TestExportSyntheticCity) and computes what
depgraph.Analyze computes, with the same definitions:

  * FIPS 199 high-water mark flowing down from services (hard or soft edges);
  * per service, the kill set K(s): nodes whose single failure fails s,
    honouring k-of-n redundancy groups and common-mode failures, and which
    of them are common-mode (not on a plain path of ungrouped hard edges);
  * per node, the services it degrades (soft edges, all-soft groups);
  * cycles (strongly connected components of size > 1 and self-loops).

networkx provides the graph, strongly connected components, the
condensation and its topological order, and descendants (to find what each
service depends on). Dominator trees (networkx.immediate_dominators) answer
"which node lies on every path", which is exact for 1-of-n (OR) redundancy
but not for k-of-n with k > 1 nor for AND (ungrouped hard) dependencies, so
kill sets are computed with the same set recurrence as the Go code, over the
condensation in reverse topological order.

It prints timings and the same summary line as the Go test, so the two
results can be compared number for number.

Usage: python3 criticality.py city.tsv
"""

import sys
import time

import networkx as nx


def load(path):
    g = nx.DiGraph()
    groups = {}  # (owner, group id) -> need
    with open(path, encoding="utf-8") as f:
        for line in f:
            p = line.rstrip("\n").split("\t")
            if p[0] == "N":
                g.add_node(p[1], kind=p[2], pop=int(p[3]), cat=(int(p[4]), int(p[5]), int(p[6])))
            elif p[0] == "G":
                groups[(p[1], p[2])] = int(p[3])
            elif p[0] == "E":
                g.add_edge(p[1], p[2], soft=(p[3] == "soft"), group=p[4])
    return g, groups


def analyze(g, groups):
    services = sorted(n for n, k in g.nodes(data="kind") if k == "service")

    # Strongly connected components and the condensation DAG.
    cond = nx.condensation(g)
    members = nx.get_node_attributes(cond, "members")
    topo = list(nx.topological_sort(cond))  # dependents before dependencies
    cycles = []
    for c in topo:
        m = members[c]
        if len(m) > 1 or any(g.has_edge(x, x) for x in m):
            cycles.append(sorted(m))

    # High-water mark flowing down.
    cat = {n: (0, 0, 0) for n in g}
    for s in services:
        cat[s] = g.nodes[s]["cat"]
    for c in topo:
        m = members[c]
        hw = (0, 0, 0)
        for x in m:
            hw = tuple(map(max, hw, cat[x]))
        for x in m:
            cat[x] = hw
            for y in g.successors(x):
                if y not in m:
                    cat[y] = tuple(map(max, cat[y], hw))

    # What some service depends on.
    relevant = set(services)
    for s in services:
        relevant |= nx.descendants(g, s)

    # Per node: ungrouped edges and groups.
    def split(x):
        plain, grouped = [], {}
        for y, e in g[x].items():
            if e["group"]:
                grouped.setdefault(e["group"], []).append((y, e["soft"]))
            else:
                plain.append((y, e["soft"]))
        return plain, grouped

    K = {}  # node -> {v: plain?}
    D = {}  # node -> set of nodes degrading it

    def kof(y):
        return K.get(y) or {y: True}

    def compute(x):
        plain, grouped = split(x)
        k = {x: True}
        for y, soft in plain:
            if not soft:
                for v, pl in kof(y).items():
                    k[v] = k.get(v, False) or pl
        dsoft = []
        for gid, mem in grouped.items():
            size, need = len(mem), groups[(x, gid)]
            count = {}
            for y, _ in mem:
                for v in kof(y):
                    count[v] = count.get(v, 0) + 1
            broken = [v for v, c in count.items() if c > size - need]
            if any(not soft for _, soft in mem):
                for v in broken:
                    k.setdefault(v, False)
            else:
                dsoft.extend(broken)
        d = set()
        for y, soft in plain:
            if soft:
                d.update(kof(y))
            d |= D.get(y, set())
        d.update(dsoft)
        d.difference_update(k)
        K[x], D[x] = k, d

    pending = {}
    for x in relevant:
        for y in g.successors(x):
            if cond.graph["mapping"][y] != cond.graph["mapping"][x]:
                pending[y] = pending.get(y, 0) + 1
    svcset = set(services)
    for c in reversed(topo):
        m = members[c]
        if next(iter(m)) not in relevant:
            continue
        if len(m) == 1 and not g.has_edge(next(iter(m)), next(iter(m))):
            compute(next(iter(m)))
        else:
            changed = True
            while changed:
                changed = False
                for x in m:
                    before = (dict(kof(x)), set(D.get(x, ())))
                    compute(x)
                    if (K[x], D[x]) != before:
                        changed = True
        for x in m:
            for y in g.successors(x):
                if y not in m:
                    pending[y] -= 1
                    if pending[y] == 0 and y not in svcset:
                        K.pop(y, None)
                        D.pop(y, None)

    summary = dict(spofs=0, common_mode=0, cycles=len(cycles), degraded_pairs=0, population_lost_sum=0, category_sum=0)
    for s in services:
        pop = g.nodes[s]["pop"]
        for v, pl in kof(s).items():
            summary["population_lost_sum"] += pop
            if v != s:
                summary["spofs"] += 1
                if not pl:
                    summary["common_mode"] += 1
        summary["degraded_pairs"] += len(D.get(s, ()))
    summary["category_sum"] = sum(sum(c) for c in cat.values())
    return summary


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: criticality.py city.tsv")
    t0, c0 = time.perf_counter(), time.process_time()
    g, groups = load(sys.argv[1])
    t1, c1 = time.perf_counter(), time.process_time()
    summary = analyze(g, groups)
    t2, c2 = time.perf_counter(), time.process_time()
    print(f"nodes={g.number_of_nodes()} edges={g.number_of_edges()} networkx={nx.__version__}")
    print(f"load={t1 - t0:.2f}s (cpu {c1 - c0:.2f}s) analyze={t2 - t1:.2f}s (cpu {c2 - c1:.2f}s)")
    print("summary: " + " ".join(f"{k}={v}" for k, v in summary.items()))


if __name__ == "__main__":
    main()
