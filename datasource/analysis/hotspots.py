"""Unusual places: a stated test per place and category group, with the false-alarm rate
controlled across thousands of places, and spatial clusters of excess.

**The surge test.**  For a place (unit grid or street) and a category group, let ``y`` be
its count on the day and ``B`` its total over the baseline days (the same weekday of the
previous 12 weeks).  Under "nothing unusual" the place's cases are a Poisson process whose
rate is a fixed share of the district's: then, given ``T = y + B``,

    y ~ Binomial(T, p0),   p0 = N_day / (N_day + N_baseline)

where ``N`` are the district's totals (all places, all categories).  The p-value
``P(Y ≥ y)`` is exact however sparse the place — a grid that saw 0 cases in 12 weeks and
5 today is tested like any other — and conditioning on the district's totals absorbs
holidays, weekdays and trend without a model of them.  (With fewer than
:data:`MIN_WEEKS` usable same-weekday days the baseline falls back to every day of the
previous 28, EARS-style; the exposure ``N`` keeps the test exact.)

**False alarms.**  All tests of the day form one family; the Benjamini–Hochberg step-up
procedure at level ``q`` (default 5 %) flags the places.  Under the global null (a quiet
day) that bounds the chance of *any* flag by ``q``; on a busy day the expected share of
false flags among all flags is at most ``q``.  Tests that cannot reach ``q`` even at their
most extreme outcome (``p0 ** T > q``: e.g. a grid with one case in 13 days) are left out of
the family before the procedure, as Tarone/Gilbert's discrete refinement allows — their
outcome cannot be significant, so counting them would only cost power.

**Spatial clusters.**  The Getis-Ord Gi* statistic (each grid in its own neighbourhood,
binary Queen contiguity — the analytical z of esda's ``G_Local``, computed here for many
simulated days at once) over the grids' Freeman–Tukey residuals of the same baseline
(all categories) finds neighbourhoods that are high together — a cluster of grids each
modestly above its history.  Counts this sparse are far from normal, so Gi*'s normal
p-values would flag clusters every quiet day; instead each day is compared with
:data:`SIMULATIONS` quiet days drawn from the test's own null (every grid redrawn as
``Binomial(T, p0)``, conditioned on the day's total): a grid is hot when its Gi* beats the ``1 − q`` quantile of the
simulated days' *largest* Gi* (max-T), which bounds the chance of any cluster on a quiet
day by ``q``.  A simulated quiet day reshuffles which of the 13 days each case fell on
(the day keeps its N cases): a permutation test, exact given the places' totals.
Connected hot grids form one cluster.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse, stats
from scipy.sparse import csgraph

LEVEL = 0.05
BASELINE_WEEKS = 12
MIN_WEEKS = 4
FALLBACK_DAYS = 28


@dataclass(frozen=True)
class SurgeTest:
    """The outcome of :func:`surge_test` for n places (arrays of length n)."""

    observed: np.ndarray
    expected: np.ndarray     # baseline count scaled to the day's district volume
    p: np.ndarray            # exact one-sided p-value P(Y >= y | T)
    mid_p: np.ndarray        # P(Y > y | T) + P(Y = y | T) / 2 (for the normal scores)
    tested: np.ndarray       # in the BH family (outcome could reach the level)
    flagged: np.ndarray
    level: float

    @property
    def family(self) -> int:
        return int(self.tested.sum())


def benjamini_hochberg(p: np.ndarray, level: float) -> np.ndarray:
    """Step-up BH: a boolean mask of rejected hypotheses among ``p`` (NaN = not tested)."""
    p = np.asarray(p, dtype=float)
    valid = ~np.isnan(p)
    m = int(valid.sum())
    out = np.zeros(p.shape, dtype=bool)
    if m == 0:
        return out
    idx = np.flatnonzero(valid)
    order = idx[np.argsort(p[idx], kind="stable")]
    thresholds = level * np.arange(1, m + 1) / m
    below = np.flatnonzero(p[order] <= thresholds)
    if below.size:
        out[order[: below[-1] + 1]] = True
    return out


def surge_test(observed, baseline, day_total: float, baseline_total: float, level: float = LEVEL) -> SurgeTest:
    """The conditional (binomial) surge test for each place, with BH across the testable ones.

    ``observed`` and ``baseline`` are counts per place (same order); ``day_total`` and
    ``baseline_total`` the district's totals on the day and over the baseline days."""
    y = np.asarray(observed, dtype=np.int64)
    b = np.asarray(baseline, dtype=np.int64)
    total = y + b
    if day_total <= 0 or baseline_total <= 0:
        nothing = np.zeros(y.shape, dtype=bool)
        return SurgeTest(y, np.zeros(y.shape), np.ones(y.shape), np.full(y.shape, 0.5), nothing, nothing, level)
    p0 = day_total / (day_total + baseline_total)
    expected = b * (day_total / baseline_total)
    p = stats.binom.sf(y - 1, total, p0)
    mid = stats.binom.sf(y, total, p0) + 0.5 * stats.binom.pmf(y, total, p0)
    with np.errstate(divide="ignore"):
        best = np.where(total > 0, total * np.log(p0), 0.0)   # log of the smallest reachable p
    tested = (total > 0) & (best <= np.log(level))
    flagged = benjamini_hochberg(np.where(tested, p, np.nan), level) & (y > expected)
    return SurgeTest(y, expected, p, mid, tested, flagged, level)


# ---------------------------------------------------------------------------- spatial clusters
SIMULATIONS = 199


@dataclass(frozen=True)
class Clusters:
    z: np.ndarray             # Gi* z-score per grid
    p: np.ndarray             # Monte Carlo p-value of the max-statistic (family-wise)
    hot: np.ndarray           # grids whose Gi* exceeds what a quiet day reaches (p <= level)
    groups: list[list[int]]   # connected hot grids, largest excess first (indices)
    areas: list[list[int]]    # each group with its neighbours: the neighbourhoods Gi* summed
    level: float
    threshold: float          # the (1 - level) quantile of the null maximum


def contiguity(geometries) -> sparse.csr_matrix:
    """Binary Queen contiguity of polygons given as GeoJSON geometry dicts (n × n, zero
    diagonal): two grids are neighbours when their boundaries share at least a point —
    the same pairs as ``libpysal.weights.Queen`` (the tests check), from shapely's STRtree
    in a tenth of a second."""
    import shapely
    from shapely.geometry import shape
    polygons = [shape(g) for g in geometries]
    a, b = shapely.STRtree(polygons).query(polygons, predicate="intersects")
    keep = a != b
    n = len(polygons)
    return sparse.csr_matrix((np.ones(int(keep.sum())), (a[keep], b[keep])), shape=(n, n))


def gi_star(values, weights: sparse.csr_matrix) -> np.ndarray:
    """Getis-Ord Gi* z-scores (each grid in its own neighbourhood, binary weights), the
    analytical standardisation of esda's ``G_Local(star=True, transform="B")`` — for one
    variable (n,) or many at once (n × R, one column per simulated day)."""
    x = np.asarray(values, dtype=float)
    w = weights + sparse.identity(weights.shape[0], format="csr")
    n = w.shape[0]
    c = np.asarray(w.sum(axis=1)).ravel()
    spread = np.sqrt(c * (n - c) / (n - 1))
    column = x.ndim == 1
    x2 = x[:, None] if column else x
    mean, std = x2.mean(axis=0), x2.std(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = (w @ x2 - c[:, None] * mean[None, :]) / (std[None, :] * spread[:, None])
    z = np.nan_to_num(z, nan=0.0, posinf=0.0, neginf=0.0)
    return z[:, 0] if column else z


def residuals(observed, expected) -> np.ndarray:
    """Freeman–Tukey residuals of counts: variance-stabilised, so one big surge does not
    swamp a neighbourhood and a sparse grid's single case does not look like a cluster."""
    y, e = np.asarray(observed, dtype=float), np.asarray(expected, dtype=float)
    return np.sqrt(y) + np.sqrt(y + 1) - np.sqrt(4 * e + 1)


def gi_star_clusters(observed, baseline, day_total: float, baseline_total: float, weights: sparse.csr_matrix,
                     level: float = LEVEL, simulations: int = SIMULATIONS, seed: int = 0) -> Clusters:
    """Hot spots of excess: Gi* over the grids' Freeman–Tukey residuals, judged against
    quiet days simulated from the same conditional null as :func:`surge_test` (the day's
    cases redrawn among each grid's 13-day total, a permutation).  A grid is hot when its
    Gi* exceeds the ``1 − level`` quantile of the day's *largest* Gi* under the null (max-T), so a quiet
    day shows any cluster at all with probability at most ``level``; connected hot grids
    form a cluster."""
    y = np.asarray(observed, dtype=np.int64)
    b = np.asarray(baseline, dtype=np.int64)
    n = y.size
    if day_total <= 0 or baseline_total <= 0 or n < 3:
        return Clusters(np.zeros(n), np.ones(n), np.zeros(n, dtype=bool), [], [], level, float("inf"))
    expected = b * (day_total / baseline_total)
    z = gi_star(residuals(y, expected), weights)
    rng = np.random.default_rng(seed)
    total = y + b
    # A quiet day: the day's N cases drawn at random from all T = y + B cases of the 13 days
    # (a permutation of which day each case fell on), so a simulated day is exchangeable with
    # the real one — and scored exactly like it, with its own baseline and totals.
    null = rng.multivariate_hypergeometric(total, int(y.sum()), size=simulations, method="count").T
    null_base = total[:, None] - null
    null_expected = null_base * (day_total / baseline_total)
    maxima = gi_star(residuals(null, null_expected), weights).max(axis=0)
    p = (1 + (maxima[None, :] >= z[:, None]).sum(axis=1)) / (simulations + 1)
    hot = (p <= level) & (z > 0)
    groups = _components(np.flatnonzero(hot), weights)
    # A hot grid's Gi* is its neighbourhood's: the excess lies in the grids around it, which
    # may hold no case themselves — so a cluster is reported (and drawn) with its neighbours.
    areas = [sorted(set(members) | {int(j) for i in members for j in weights[i].indices}) for members in groups]
    excess = y - expected
    order = sorted(range(len(groups)), key=lambda k: (-float(excess[areas[k]].sum()), groups[k][0]))
    return Clusters(z, p, hot, [groups[k] for k in order], [areas[k] for k in order], level,
                    float(np.quantile(maxima, 1 - level)))


def _components(members: np.ndarray, weights: sparse.csr_matrix) -> list[list[int]]:
    """Connected components of ``members`` under the contiguity ``weights``."""
    if members.size == 0:
        return []
    sub = weights[members][:, members]
    count, labels = csgraph.connected_components(sub, directed=False)
    return [sorted(int(members[i]) for i in np.flatnonzero(labels == k)) for k in range(count)]


__all__ = ["LEVEL", "BASELINE_WEEKS", "MIN_WEEKS", "FALLBACK_DAYS", "SurgeTest", "Clusters", "benjamini_hochberg",
           "surge_test", "contiguity", "gi_star", "residuals", "gi_star_clusters"]
