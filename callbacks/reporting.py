"""What the report pages' callbacks share: the period from the date picker, colour classes
for the maps, value formatting and the charts' common layout."""
from __future__ import annotations

from datetime import datetime

from dashboard.domain.evaluation import MAX_REPORT_DAYS, from_to

from dashboard.i18n import t

RAMP_SIZE = 6


def period_from(first: str | None, last: str | None, tz):
    """The period of the date picker's values (``YYYY-MM-DD``, maybe with a time part);
    PeriodError when they are wrong (the one period rule, :func:`dashboard.domain.evaluation.from_to`)."""
    return from_to((first or "")[:10], (last or "")[:10], datetime.now(tz).date(), limit=MAX_REPORT_DAYS, tz=tz)


def period_message(exc, lang: str) -> str:
    """A PeriodError in the page's language (one line)."""
    return t(exc.key, lang, **{k: str(v) for k, v in exc.values.items()})


def class_breaks(values: list[float], k: int = RAMP_SIZE) -> list[float]:
    """Lower bounds of up to ``k`` quantile classes of ``values`` (distinct, ascending)."""
    if not values:
        return []
    ordered = sorted(values)
    breaks = []
    for i in range(k):
        value = ordered[min(len(ordered) - 1, int(i * len(ordered) / k))]
        if not breaks or value > breaks[-1]:
            breaks.append(value)
    return breaks


def ramp_index(position: int, classes: int, worse_high: bool, size: int = RAMP_SIZE) -> int:
    """The colour (0 = fine … size−1 = needs attention) of class ``position`` of ``classes``."""
    scaled = round(position * (size - 1) / max(classes - 1, 1))
    return scaled if worse_high else size - 1 - scaled


def class_of(value, breaks: list[float], worse_high: bool) -> int:
    """The colour index of ``value`` (−1: no value)."""
    if value is None or not breaks:
        return -1
    position = max(i for i, low in enumerate(breaks) if value >= low) if value >= breaks[0] else 0
    return ramp_index(position, len(breaks), worse_high)


def fmt_value(field: str, value) -> str:
    """A figure as the pages print it: shares as percentages, densities with two decimals."""
    if value is None:
        return "—"
    if field.endswith("rate") or field.endswith("share"):
        return f"{value:.1%}"
    if isinstance(value, int):
        return str(value)
    return f"{value:.2f}"


def plot_layout(title: str, height: int | None = None) -> dict:
    """The dark, compact layout every report chart uses."""
    layout = {"title": {"text": title, "font": {"size": 14}, "x": 0.01}, "template": "plotly_dark",
              "paper_bgcolor": "#111a2e", "plot_bgcolor": "#111a2e", "margin": {"l": 10, "r": 16, "t": 40, "b": 30},
              "font": {"family": "Noto Sans CJK SC, Source Han Sans SC, Microsoft YaHei, sans-serif", "size": 12},
              "showlegend": False}
    if height:
        layout["height"] = height
    return layout
