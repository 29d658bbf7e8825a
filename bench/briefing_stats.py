"""Calibration of the briefing's unusual-places statistics on generated counts (the README's
table): how often a quiet day shows a Gi* cluster, how often planted clusters and surges
of a given size are found.  Dongcheng's 3,692 grids at 1,330 cases a day.

    python bench/briefing_stats.py        # about three minutes
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
from dashboard.domain.scenario import Scenario  # noqa: E402
from datasource.analysis import hotspots as hs  # noqa: E402
sc = Scenario()
w = hs.contiguity([f["geometry"] for f in sc.grids_geojson["features"]])
n = w.shape[0]
rng = np.random.default_rng(2024)
rates = rng.gamma(1.2, 1.0, n); rates *= 1330 / rates.sum()
quiet = 0; R = 1000
for seed in range(R):
    counts = rng.poisson(rates[:, None] * rng.uniform(0.8, 1.2, 13)[None, :])
    found = hs.gi_star_clusters(counts[:, 0], counts[:, 1:].sum(1), counts[:, 0].sum(), counts[:, 1:].sum(), w, seed=seed)
    quiet += bool(found.groups)
print(f"Gi* quiet days with a cluster: {quiet}/{R} = {quiet/R:.3f}")
hits = 0; P = 200
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
for extra in (3, 4, 5, 6, 8):
    found = planted = 0
    for rep in range(40):
        counts = rng.poisson(cell[:, None] * rng.uniform(0.7, 1.3, 13)[None, :])
        cells = rng.choice(cell.size, 10, replace=False)
        today = counts[:, 0].copy(); today[cells] += extra
        t = hs.surge_test(today, counts[:, 1:].sum(1), today.sum(), counts[:, 1:].sum())
        found += int(t.flagged[cells].sum()); planted += 10
    print(f"surge +{extra} in one grid x group: found {found}/{planted} = {found/planted:.2f}")
