"""Next-day forecast of new cases per series (street × category group) with an interval,
and its accuracy measured by re-running it over past days.

**The model** (a seasonal count model with working-calendar effects).  Over a window of
the last ``W`` days (default 56 = 8 weeks), series ``s`` on day ``t`` has mean

    μ[s, t] = a[s] · g[c(t)]

where ``c(t)`` is the day's class on the working calendar — its weekday (0–6) if it is a
working day, or 7 for a day off (weekend or public holiday; a make-up working day, 调休,
counts as a working day of its weekday) — ``g`` the class effect shared by all series and
``a`` the series' level.  These are the Poisson maximum-likelihood estimates of the
log-linear model ``log μ = log a[s] + log g[c]`` (closed form: row × column totals).  A
class absent from the window borrows the mean of the working (or off) days seen.

**The interval.**  Counts scatter more than Poisson: the predictive distribution is
negative binomial with variance ``μ + μ²/k + μ²(1/Y[s] + 1/Y[c])`` — the series'
overdispersion ``1/k`` (method of moments on the window's residuals, pooled), plus the
estimation error of ``a`` and ``g`` (``Y`` are the counts they rest on).  Sums over series
(a street, a category group, the district) add a common day-to-day factor estimated from
the district totals' excess variance.  The interval is the central ``level`` (90 %) range.

**Accuracy** (:func:`backtest`): the forecast is re-made for each of the last 28 days from
the ``W`` days before it and compared with what happened — MAPE of the district total
and of the street totals, and the share of actual counts inside their intervals
(coverage; should be close to ``level``).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import stats

WINDOW = 56
BACKTEST_DAYS = 28
LEVEL = 0.90
OFF = 7   # class of a day off


def day_class(day, calendar) -> int:
    """0–6 (Monday–Sunday) for a working day, :data:`OFF` for a weekend day or holiday."""
    return day.weekday() if calendar.is_working_day(day) else OFF


@dataclass(frozen=True)
class Model:
    level: np.ndarray        # a[s]: per-day count of a day with class effect 1
    effect: np.ndarray       # g[c] for c in 0..7 (NaN: class not seen)
    series_total: np.ndarray  # Y[s]
    class_total: np.ndarray   # Y[c]
    dispersion: float        # 1/k of a series
    common: float            # variance share of the common day factor (district level)

    def effect_of(self, cls: int) -> float:
        g = self.effect[cls]
        if np.isnan(g):
            pool = self.effect[:OFF] if cls != OFF else self.effect[OFF:]
            seen = pool[~np.isnan(pool)]
            g = float(seen.mean()) if seen.size else 1.0
        return float(g)


@dataclass(frozen=True)
class Prediction:
    mean: np.ndarray
    var: np.ndarray
    low: np.ndarray
    high: np.ndarray
    level: float


def fit(counts: np.ndarray, classes) -> Model:
    """Fit the model to ``counts`` (series × days) whose days have ``classes``."""
    y = np.asarray(counts, dtype=float)
    cls = np.asarray(classes, dtype=int)
    total, days = float(y.sum()), y.shape[1]
    per_class, n_days = np.zeros(OFF + 1), np.zeros(OFF + 1)
    np.add.at(per_class, cls, y.sum(axis=0))
    np.add.at(n_days, cls, 1)
    if total == 0:
        effect = np.where(n_days > 0, 1.0, np.nan)
        return Model(np.zeros(y.shape[0]), effect, y.sum(axis=1), per_class, 0.0, 0.0)
    seen = n_days > 0
    effect = np.full(OFF + 1, np.nan)
    effect[seen] = (per_class[seen] / n_days[seen]) / (total / days)
    g_t = effect[cls]
    level = y.sum(axis=1) / g_t.sum()
    mu = level[:, None] * g_t[None, :]
    dispersion = max(0.0, float((((y - mu) ** 2) - mu).sum()) / float((mu ** 2).sum()))
    # The district total's extra day-to-day variance beyond the series' own (a common factor).
    m_t, y_t = mu.sum(axis=0), y.sum(axis=0)
    own = (mu + dispersion * mu ** 2).sum(axis=0)
    common = max(0.0, float(((y_t - m_t) ** 2 - own).sum()) / float((m_t ** 2).sum()))
    return Model(level, effect, y.sum(axis=1), per_class, dispersion, common)


def predict(model: Model, cls: int, level: float = LEVEL) -> Prediction:
    """Mean, variance and central ``level`` interval of each series on a day of class ``cls``."""
    mean = model.level * model.effect_of(cls)
    rel = 1.0 / np.maximum(model.series_total, 1.0) + 1.0 / max(float(model.class_total[cls]), 1.0)
    var = mean + (model.dispersion + rel) * mean ** 2
    low, high = interval(mean, var, level)
    return Prediction(mean, var, low, high, level)


def aggregate(model: Model, prediction: Prediction, members: list[np.ndarray], cls: int) -> Prediction:
    """The prediction of sums of series (``members``: index arrays), e.g. street totals.

    Independent series noise adds up; the common day factor and the class effect's error
    are shared by all series, so they scale with the square of the sum."""
    rel_class = 1.0 / max(float(model.class_total[cls]), 1.0)
    means, variances = [], []
    for index in members:
        mu = prediction.mean[index]
        own = mu + (model.dispersion + 1.0 / np.maximum(model.series_total[index], 1.0)) * mu ** 2
        means.append(float(mu.sum()))
        variances.append(float(own.sum()) + (model.common + rel_class) * float(mu.sum()) ** 2)
    mean, var = np.array(means), np.array(variances)
    low, high = interval(mean, var, prediction.level)
    return Prediction(mean, var, low, high, prediction.level)


def interval(mean: np.ndarray, var: np.ndarray, level: float = LEVEL) -> tuple[np.ndarray, np.ndarray]:
    """Central ``level`` interval of negative binomial counts with this mean and variance
    (Poisson where the variance is not above the mean)."""
    mean = np.asarray(mean, dtype=float)
    var = np.maximum(np.asarray(var, dtype=float), mean)
    tail = (1 - level) / 2
    low, high = np.zeros(mean.shape), np.zeros(mean.shape)
    positive = mean > 0
    over = positive & (var > mean * (1 + 1e-9))
    poisson = positive & ~over
    if poisson.any():
        low[poisson] = stats.poisson.ppf(tail, mean[poisson])
        high[poisson] = stats.poisson.ppf(1 - tail, mean[poisson])
    if over.any():
        n = mean[over] ** 2 / (var[over] - mean[over])
        p = mean[over] / var[over]
        low[over] = stats.nbinom.ppf(tail, n, p)
        high[over] = stats.nbinom.ppf(1 - tail, n, p)
    return low, high


@dataclass(frozen=True)
class Accuracy:
    days: int
    mape_total: float | None            # MAPE of the district's daily total
    mape_groups: float | None           # MAPE of aggregated series (e.g. street totals)
    coverage: float | None              # share of series counts inside their interval
    coverage_groups: float | None       # … of aggregated totals
    coverage_total: float | None        # … of the district total
    level: float
    daily: list[tuple[int, float, float, float, float]] = field(default_factory=list)  # (t, actual, mean, low, high)


def backtest(counts: np.ndarray, classes, groups: list[np.ndarray], window: int = WINDOW,
             days: int = BACKTEST_DAYS, level: float = LEVEL) -> Accuracy:
    """Re-forecast each of the last ``days`` columns of ``counts`` from the ``window``
    columns before it, and measure the errors (see the module docstring)."""
    y = np.asarray(counts, dtype=float)
    cls = np.asarray(classes, dtype=int)
    start = max(y.shape[1] - days, 1)
    inside = n_inside = 0
    group_inside = n_group = 0
    total_inside = 0
    ape_total, ape_group, daily = [], [], []
    everything = [np.arange(y.shape[0])]
    for t in range(start, y.shape[1]):
        lo = max(0, t - window)
        if t - lo < 14:   # less than two weeks of history: no honest forecast to score
            continue
        model = fit(y[:, lo:t], cls[lo:t])
        pred = predict(model, int(cls[t]), level)
        actual = y[:, t]
        inside += int(((actual >= pred.low) & (actual <= pred.high)).sum())
        n_inside += actual.size
        if groups:
            agg = aggregate(model, pred, groups, int(cls[t]))
            sums = np.array([actual[g].sum() for g in groups])
            group_inside += int(((sums >= agg.low) & (sums <= agg.high)).sum())
            n_group += sums.size
            ape_group.extend(abs(a - m) / a for a, m in zip(sums, agg.mean) if a > 0)
        whole = aggregate(model, pred, everything, int(cls[t]))
        a = float(actual.sum())
        total_inside += int(whole.low[0] <= a <= whole.high[0])
        if a > 0:
            ape_total.append(abs(a - whole.mean[0]) / a)
        daily.append((t, a, float(whole.mean[0]), float(whole.low[0]), float(whole.high[0])))
    scored = len(daily)
    return Accuracy(
        days=scored,
        mape_total=float(np.mean(ape_total)) if ape_total else None,
        mape_groups=float(np.mean(ape_group)) if ape_group else None,
        coverage=inside / n_inside if n_inside else None,
        coverage_groups=group_inside / n_group if n_group else None,
        coverage_total=total_inside / scored if scored else None,
        level=level, daily=daily)


__all__ = ["WINDOW", "BACKTEST_DAYS", "LEVEL", "OFF", "day_class", "Model", "Prediction", "Accuracy", "fit",
           "predict", "aggregate", "interval", "backtest"]
