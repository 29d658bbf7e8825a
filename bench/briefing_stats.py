"""Calibration of the briefing's unusual-places statistics on generated counts (the README's
table): how often a quiet day shows a Gi* cluster, how often planted clusters and surges
of a given size are found.  Dongcheng's 3,692 grids at 1,330 cases a day.

    python bench/briefing_stats.py [R P REPS]     # about three minutes at 1000 200 40
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
from dashboard.domain.scenario import Scenario  # noqa: E402
from datasource.analysis import hotspots as hs  # noqa: E402


def main(R: int = 1000, P: int = 200, reps: int = 40) -> dict:
    """Quiet days with a Gi* cluster of ``R``, planted clusters found of ``P``, surges found per size."""
    sc = Scenario()
    w = hs.contiguity([f["geometry"] for f in sc.grids_geojson["features"]])
    n = w.shape[0]
    rng = np.random.default_rng(2024)
    rates = rng.gamma(1.2, 1.0, n); rates *= 1330 / rates.sum()
    quiet = 0
    for seed in range(R):
        counts = rng.poisson(rates[:, None] * rng.uniform(0.8, 1.2, 13)[None, :])
        found = hs.gi_star_clusters(counts[:, 0], counts[:, 1:].sum(1), counts[:, 0].sum(), counts[:, 1:].sum(), w, seed=seed)
        quiet += bool(found.groups)
    print(f"Gi* quiet days with a cluster: {quiet}/{R} = {quiet/R:.3f}")
    hits = 0
    for seed in range(P):
        counts = rng.poisson(rates[:, None] * rng.uniform(0.8, 1.2, 13)[None, :])
        centre = int(rng.integers(n)); block = np.r_[centre, w[centre].indices]
        counts[block, 0] += 2
        found = hs.gi_star_clusters(counts[:, 0], counts[:, 1:].sum(1), counts[:, 0].sum(), counts[:, 1:].sum(), w, seed=seed)
        hits += any(set(g) & set(block.tolist()) for g in found.areas)
    print(f"planted clusters (+2 cases in a grid and its ~6 neighbours) found: {hits}/{P}")
    # surge test detection by surge size, in a grid x group cell
    G = 11
    place = rng.gamma(1.2, 1.0, n); group = rng.dirichlet(np.full(G, 2.0))
    cell = (place[:, None] * group[None, :]).ravel(); cell *= 1330 / cell.sum()
    surges = {}
    for extra in (3, 4, 5, 6, 8):
        found = planted = 0
        for rep in range(reps):
            counts = rng.poisson(cell[:, None] * rng.uniform(0.7, 1.3, 13)[None, :])
            cells = rng.choice(cell.size, 10, replace=False)
            today = counts[:, 0].copy(); today[cells] += extra
            t = hs.surge_test(today, counts[:, 1:].sum(1), today.sum(), counts[:, 1:].sum())
            found += int(t.flagged[cells].sum()); planted += 10
        print(f"surge +{extra} in one grid x group: found {found}/{planted} = {found/planted:.2f}")
        surges[extra] = found / planted
    return {"quiet": quiet / R, "clusters_found": hits / P, "surges": surges}


def measure(scale: float = 1.0) -> list[dict]:
    """For ``make bench``: 1,000 quiet days, 200 planted clusters, 40 surge rounds at scale 1."""
    from bench.harness import figure, sized
    R, P, reps = (round(sized(n, scale, least)) for n, least in ((1000, 20), (200, 10), (40, 2)))
    out = main(R, P, reps)
    return [figure("quiet days with a Gi* cluster", 100 * out["quiet"], "%", at_most=5, target="≈ 5 %",
                   note=f"{R} days; the test's stated level is 5 %"),
            figure("planted clusters found (+2 in a grid and its neighbours)", 100 * out["clusters_found"], "%",
                   note=f"{P} days"),
            figure("planted surges found, +5 in one grid × group", 100 * out["surges"][5], "%",
                   note=f"{10 * reps} surges")]


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:4]))
