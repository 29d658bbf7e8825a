"""The briefing's statistics on generated counts (no database): the surge test holds its
false-alarm budget on quiet days and finds planted surges; Gi* is esda's Gi* and finds a
planted cluster without inventing them on quiet days; the forecast's intervals cover
what they claim on counts drawn from a known model."""
from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest
from scipy import stats

from datasource.analysis import forecast as fc
from datasource.analysis import hotspots as hs

GROUPS = 11
DAYS_NULL = 200


@pytest.fixture(scope="module")
def weights(scenario):
    return hs.contiguity([f["geometry"] for f in scenario.grids_geojson["features"]])


def town_rates(rng, grids: int, per_day: float) -> np.ndarray:
    """Expected cases per grid × group per day: places and categories differ a lot."""
    place = rng.gamma(1.2, 1.0, grids)
    group = rng.dirichlet(np.full(GROUPS, 2.0))
    rates = place[:, None] * group[None, :]
    return rates * per_day / rates.sum()


def one_day(rng, rates, surges=()):
    """(today, baseline sum, day total, baseline total) per cell for one day whose 12
    baseline days vary in volume (weekday/holiday swings of ±30 %)."""
    volume = rng.uniform(0.7, 1.3, 13)
    counts = rng.poisson(rates.ravel()[:, None] * volume[None, :])
    today = counts[:, 0].copy()
    for cell, extra in surges:
        today[cell] += extra
    base = counts[:, 1:].sum(axis=1)
    return today, base, today.sum(), base.sum()


# ---------------------------------------------------------------------------- surge test
def test_the_surge_test_is_the_exact_conditional_binomial():
    # A grid with 1 case in 12 baseline days and 6 today, the district 1,000 today, 12,000 before.
    test = hs.surge_test([6], [1], 1000, 12000)
    p0 = 1000 / 13000
    assert test.p[0] == pytest.approx(stats.binom.sf(5, 7, p0))
    assert test.expected[0] == pytest.approx(1000 / 12000)
    assert test.tested[0]
    # One case ever (T = 1) can never reach 5 %: left out of the family, never flagged.
    lone = hs.surge_test([1], [0], 1000, 12000)
    assert not lone.tested[0] and not lone.flagged[0]


def test_benjamini_hochberg_agrees_with_statsmodels():
    from statsmodels.stats.multitest import multipletests
    rng = np.random.default_rng(3)
    p = np.concatenate([rng.uniform(size=400), rng.uniform(0, 1e-4, 12)])
    ours = hs.benjamini_hochberg(p, 0.05)
    theirs = multipletests(p, alpha=0.05, method="fdr_bh")[0]
    assert (ours == theirs).all() and ours.sum() >= 12


@pytest.mark.parametrize("per_day", [300, 1330])
def test_quiet_days_stay_within_the_false_alarm_budget(scenario, per_day):
    """On days without any surge, the share of days with any flag stays within the
    stated level (5 %, Benjamini–Hochberg under the global null), over 200 days of
    Dongcheng's 3,692 grids × 11 groups."""
    rng = np.random.default_rng(per_day)
    rates = town_rates(rng, len(scenario.grids_geojson["features"]), per_day)
    days_flagged, flags = 0, 0
    for _ in range(DAYS_NULL):
        test = hs.surge_test(*one_day(rng, rates))
        flags += int(test.flagged.sum())
        days_flagged += bool(test.flagged.any())
    print(f"\nper_day={per_day}: {days_flagged}/{DAYS_NULL} quiet days with a flag, {flags} flags")
    assert days_flagged / DAYS_NULL <= hs.LEVEL
    assert flags <= DAYS_NULL * hs.LEVEL * 2


def test_planted_surges_are_found_and_little_else(scenario):
    """Ten places per day get a surge (+6 to +12 cases in one category group); over 40
    days nearly all are flagged, and the flags that are not planted stay within the FDR."""
    rng = np.random.default_rng(10)
    rates = town_rates(rng, len(scenario.grids_geojson["features"]), 1330)
    planted = found = false = flagged = 0
    for _ in range(40):
        cells = rng.choice(rates.size, 10, replace=False)
        surges = [(int(c), int(rng.integers(6, 13))) for c in cells]
        test = hs.surge_test(*one_day(rng, rates, surges))
        hits = set(np.flatnonzero(test.flagged).tolist())
        planted += len(surges)
        found += len(hits & set(cells.tolist()))
        false += len(hits - set(cells.tolist()))
        flagged += len(hits)
    print(f"\nplanted {planted}, found {found} ({found / planted:.1%}), false flags {false} of {flagged}")
    assert found / planted >= 0.9
    assert false / max(flagged, 1) <= hs.LEVEL


# ---------------------------------------------------------------------------- Gi* clusters
def test_contiguity_is_libpysal_queen(scenario, weights):
    from libpysal.weights import Queen
    from shapely.geometry import shape
    queen = Queen.from_iterable([shape(f["geometry"]) for f in scenario.grids_geojson["features"]],
                                silence_warnings=True)
    ours = {(int(i), int(j)) for i, j in zip(*weights.nonzero())}
    theirs = {(i, j) for i, neighbours in queen.neighbors.items() for j in neighbours}
    assert ours == theirs and len(ours) > 20_000


def test_gi_star_is_esdas_gi_star(weights):
    from esda import G_Local
    from libpysal.weights import W, fill_diagonal
    n = weights.shape[0]
    w = fill_diagonal(W({i: [int(j) for j in weights[i].indices] for i in range(n)}, silence_warnings=True), 1.0)
    x = np.random.default_rng(4).gamma(2.0, 1.0, n)
    esda_z = G_Local(x, w, transform="B", star=True, permutations=0).Zs
    assert np.abs(esda_z - hs.gi_star(x, weights)).max() < 1e-9
    many = np.stack([x, x * 2 + 1], axis=1)   # many simulated days at once give the same columns
    assert np.allclose(hs.gi_star(many, weights)[:, 1], esda_z)


def test_quiet_days_rarely_show_a_cluster_and_a_planted_one_is_found(weights):
    """The cluster test is a permutation test of which day each case fell on, judged by
    the day's largest Gi* (max-T): a quiet day shows a cluster with probability ≤ 5 %.
    (Measured on 1,500 exact-null days: 4.4 %.)"""
    rng = np.random.default_rng(21)
    n = weights.shape[0]
    rates = rng.gamma(1.2, 1.0, n)
    rates *= 1330 / rates.sum()
    quiet, days = 0, 100
    for seed in range(days):
        volume = rng.uniform(0.8, 1.2, 13)
        counts = rng.poisson(rates[:, None] * volume[None, :])
        found = hs.gi_star_clusters(counts[:, 0], counts[:, 1:].sum(1), counts[:, 0].sum(), counts[:, 1:].sum(),
                                    weights, seed=seed)
        quiet += bool(found.groups)
    print(f"\nquiet days with a Gi* cluster: {quiet}/{days}")
    assert quiet <= 10   # 5 expected at the 5 % level; 10 is 2.3 standard deviations above
    hits = 0
    for seed in range(20):
        counts = rng.poisson(rates[:, None] * rng.uniform(0.8, 1.2, 13)[None, :])
        centre = int(rng.integers(n))
        block = np.r_[centre, weights[centre].indices]   # a grid and its neighbours, each +2 cases
        counts[block, 0] += 2
        found = hs.gi_star_clusters(counts[:, 0], counts[:, 1:].sum(1), counts[:, 0].sum(), counts[:, 1:].sum(),
                                    weights, seed=seed)
        hits += any(set(g) & set(block.tolist()) for g in found.groups)
    assert hits >= 18


# ---------------------------------------------------------------------------- forecast
def simulated_series(scenario, days: int, dispersion: float, seed: int = 1):
    """Street × group counts from the model's own form: level × day-type effect, negative
    binomial noise, and a common day factor — with the real working calendar."""
    rng = np.random.default_rng(seed)
    first = date(2026, 6, 1)
    dates = [first + timedelta(days=i) for i in range(days)]
    classes = np.array([fc.day_class(d, scenario.calendar) for d in dates])
    effect = np.array([1.05, 1.0, 1.0, 0.98, 0.95, 1.0, 1.0, 0.55])
    level = rng.gamma(1.5, 5.0, 17 * GROUPS)
    common = rng.gamma(200, 1 / 200, days)
    mu = level[:, None] * effect[classes][None, :] * common[None, :]
    lam = mu * rng.gamma(1 / dispersion, dispersion, mu.shape) if dispersion else mu
    return rng.poisson(lam), classes, dates


@pytest.mark.parametrize("dispersion", [0.0, 0.15])
def test_forecast_intervals_cover_what_they_claim(scenario, dispersion):
    counts, classes, _ = simulated_series(scenario, 140, dispersion)
    streets = [np.arange(s * GROUPS, (s + 1) * GROUPS) for s in range(17)]
    accuracy = fc.backtest(counts, classes, streets, days=56)
    print(f"\ndispersion {dispersion}: MAPE total {accuracy.mape_total:.3f}, streets {accuracy.mape_groups:.3f}, "
          f"coverage {accuracy.coverage:.3f}, streets {accuracy.coverage_groups:.3f}, total {accuracy.coverage_total:.3f}")
    assert accuracy.days == 56
    assert 0.86 <= accuracy.coverage <= 0.97           # stated 90 %
    assert 0.80 <= accuracy.coverage_groups <= 0.99
    assert accuracy.mape_total < 0.08


def test_the_forecast_knows_holidays_and_weekends(scenario):
    counts, classes, dates = simulated_series(scenario, 70, 0.05)
    model = fc.fit(counts[:, -56:], classes[-56:])
    working = fc.predict(model, 1).mean.sum()
    off = fc.predict(model, fc.OFF).mean.sum()
    assert off / working == pytest.approx(0.55, rel=0.08)
    # 2026-10-01 is National Day (a holiday on a Thursday), 2026-10-10 a make-up working Saturday.
    assert fc.day_class(date(2026, 10, 1), scenario.calendar) == fc.OFF
    assert fc.day_class(date(2026, 10, 10), scenario.calendar) == 5


def test_an_empty_history_forecasts_nothing_without_failing():
    model = fc.fit(np.zeros((3, 20)), np.arange(20) % 8)
    pred = fc.predict(model, 2)
    assert (pred.mean == 0).all() and (pred.high == 0).all()
