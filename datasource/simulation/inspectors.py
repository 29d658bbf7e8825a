"""Grid inspectors (监督员): who patrols which unit grids.

Dongcheng had 432 city inspectors for its 205 communities, so each community gets two
(three where it has many grids), and each inspector covers one edge-connected group of
grids of that community — a patrol beat one can walk.  The assignment is deterministic,
so ``inspectors.json`` is committed and regenerated only when the grids change
(``scripts/gen_inspectors.py``).  The simulator uses it to name the reporter of a case and
the inspector who verifies it.
"""
from __future__ import annotations

import json
import logging
import random
from collections import defaultdict
from pathlib import Path

import numpy as np
import shapely
from shapely.geometry import shape

from dashboard.domain.scenario import ScenarioError
from datasource.simulation.texts import person_name

log = logging.getLogger("citygrid.simulator")

SHARED_EDGE_MIN_DEG = 5e-6   # about half a metre: grids touching at a corner are not neighbours
MANY_GRIDS = 22              # communities with this many grids get a third inspector


def inspectors_per_community(grid_count: int) -> int:
    """Two inspectors per community, three for large ones (≈ 432 for Dongcheng's 3,774 grids)."""
    return 3 if grid_count >= MANY_GRIDS else 2


def generate_inspectors(scenario_dir) -> list[dict]:
    """The inspectors of a scenario, computed from its ``grids.geojson`` (deterministic).

    Every grid is covered by exactly one inspector; each inspector's grids belong to one
    community and form one edge-connected group where the community allows it.
    """
    features = json.loads((Path(scenario_dir) / "grids.geojson").read_text(encoding="utf-8"))["features"]
    by_community: dict[str, list[dict]] = defaultdict(list)
    for feature in features:
        by_community[feature["properties"]["community_code"]].append(feature)
    inspectors, used_names = [], set()
    for community in sorted(by_community):
        grids = sorted(by_community[community], key=lambda f: f["properties"]["code"])
        groups = split_community([shape(f["geometry"]) for f in grids], inspectors_per_community(len(grids)))
        for n, group in enumerate(groups, 1):
            ident = f"INS-{community}-{n}"
            inspectors.append({
                "id": ident, "name": _unique_name(ident, used_names),
                "street_code": grids[0]["properties"]["street_code"], "community_code": community,
                "grids": sorted(grids[i]["properties"]["code"] for i in group),
            })
    return inspectors


def write_inspectors(scenario_dir) -> dict:
    """Generate and write ``inspectors.json`` into the scenario folder; a small summary."""
    inspectors = generate_inspectors(scenario_dir)
    path = Path(scenario_dir) / "inspectors.json"
    path.write_text(json.dumps(inspectors, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return {"inspectors": len(inspectors), "grids": sum(len(i["grids"]) for i in inspectors),
            "communities": len({i["community_code"] for i in inspectors}), "file": str(path)}


def split_community(polygons: list, k: int) -> list[list[int]]:
    """Split the grids of one community into ``k`` edge-connected groups of near-equal size.

    Grows the first group from an extreme grid (west-most first) towards its nearest
    neighbours, never taking a grid whose loss would cut the rest in two, then splits the
    rest the same way.  The most balanced such split over all seeds wins.
    """
    k = max(1, min(k, len(polygons)))
    if k == 1:
        return [list(range(len(polygons)))]
    adjacency = _adjacency(polygons)
    centres = np.array([[p.centroid.x, p.centroid.y] for p in polygons])
    nodes = list(range(len(polygons)))
    size = round(len(nodes) / k)
    best: set[int] = set()
    for seed in sorted(nodes, key=lambda i: (centres[i][0], -centres[i][1])):
        group = _grow(seed, size, set(nodes), adjacency, centres)
        if abs(len(group) - size) < abs(len(best) - size):
            best = group
        if len(group) == size:
            break
    rest = [i for i in nodes if i not in best]
    return [sorted(best)] + _split_rest(rest, polygons, k - 1)


def _split_rest(rest: list[int], polygons: list, k: int) -> list[list[int]]:
    groups = split_community([polygons[i] for i in rest], k)
    return [sorted(rest[i] for i in group) for group in groups]


def _grow(seed: int, size: int, allowed: set[int], adjacency: list[set[int]], centres: np.ndarray) -> set[int]:
    """A connected group around ``seed`` whose complement stays connected: repeatedly add
    the frontier grid nearest to the seed that does not disconnect the rest."""
    group = {seed}
    if len(_components(sorted(allowed - group), adjacency)) > 1:
        return group
    while len(group) < size:
        frontier = set().union(*(adjacency[i] for i in group)) & allowed - group
        for grid in sorted(frontier, key=lambda i: (float(np.hypot(*(centres[i] - centres[seed]))), i)):
            if len(_components(sorted(allowed - group - {grid}), adjacency)) == 1:
                group.add(grid)
                break
        else:
            break
    return group


def _adjacency(polygons: list) -> list[set[int]]:
    """Neighbours of each polygon: those sharing a boundary stretch, not just a corner."""
    geoms = np.array(polygons, dtype=object)
    left, right = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    keep = left < right
    left, right = left[keep], right[keep]
    rings = shapely.boundary(geoms)
    lengths = shapely.length(shapely.intersection(rings[left], rings[right]))
    adjacency: list[set[int]] = [set() for _ in polygons]
    for i, j, length in zip(left.tolist(), right.tolist(), lengths.tolist()):
        if length >= SHARED_EDGE_MIN_DEG:
            adjacency[i].add(j)
            adjacency[j].add(i)
    return adjacency


def _components(nodes: list[int], adjacency: list[set[int]]) -> list[set[int]]:
    inside, seen, components = set(nodes), set(), []
    for start in nodes:
        if start in seen:
            continue
        seen.add(start)
        stack, component = [start], set()
        while stack:
            i = stack.pop()
            component.add(i)
            for j in adjacency[i] & inside:
                if j not in seen:
                    seen.add(j)
                    stack.append(j)
        components.append(component)
    return components


def _unique_name(ident: str, used: set[str]) -> str:
    rng = random.Random(ident)
    for _ in range(100):
        name = person_name(rng)
        if name not in used:
            break
    used.add(name)
    return name


def inspectors_for(scenario) -> list[dict]:
    """The scenario's inspectors; computed afresh (with a warning) when ``inspectors.json`` is
    missing or no longer covers exactly the scenario's grids (the grids were regenerated)."""
    grids = {f["properties"]["code"] for f in scenario.grids_geojson["features"]}
    try:
        inspectors = scenario.inspectors
    except ScenarioError:
        inspectors = []
    covered = [grid for inspector in inspectors for grid in inspector["grids"]]
    if len(covered) == len(grids) and set(covered) == grids:
        return inspectors
    log.warning("inspectors.json does not match grids.geojson; run scripts/gen_inspectors.py")
    return generate_inspectors(scenario.root)


def inspector_by_grid(inspectors: list[dict]) -> dict[str, str]:
    """grid code → id of the inspector covering it."""
    return {grid: inspector["id"] for inspector in inspectors for grid in inspector["grids"]}
