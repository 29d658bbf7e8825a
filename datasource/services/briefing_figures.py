"""The briefing's charts (plotly figures as plain dicts) and map (SVG), built from its plain
data: the same figures on the page (``dcc.Graph``) and, exported as SVG by kaleido, in the PDF."""
from __future__ import annotations

import threading

from dashboard.domain.briefing import RANKING_MIN_DUE
from dashboard.i18n import t

FONT = "Noto Sans CJK SC, Noto Sans SC, Microsoft YaHei, sans-serif"
COLOURS = {"day": "#1f5fa8", "prev_day": "#9fb6d3", "last_week": "#f08a24", "forecast": "#1f5fa8",
           "actual": "#222222", "band": "rgba(31,95,168,0.15)"}
DEPARTMENT_BARS = 10   # of each end of the ranking, when there are more than twice as many
GRADE_COLOURS = {"A": "#2e9d57", "B": "#7cb342", "C": "#f2b01e", "D": "#ef7d22", "E": "#d7263d"}


def _figure(traces: list[dict], title: str, height: int = 300, xaxis: dict | None = None,
            yaxis: dict | None = None, **layout) -> dict:
    """A figure as a plain dict — no plotly object, no validation pass (a tenth of the
    cost), drawn the same by ``dcc.Graph`` and by kaleido."""
    return {"data": traces, "layout": {
        "title": {"text": title, "x": 0.01, "font": {"size": 15}}, "height": height,
        "margin": {"l": 50, "r": 16, "t": 40, "b": 58}, "font": {"family": FONT, "size": 12, "color": "#23324a"},
        "paper_bgcolor": "#ffffff", "plot_bgcolor": "#ffffff",
        # The legend below the plot: beside the title it collides on a phone.
        "legend": {"orientation": "h", "y": -0.1, "x": 0, "xanchor": "left", "yanchor": "top"},
        "xaxis": {"showgrid": False, "linecolor": "#b8c4d6", **(xaxis or {})},
        "yaxis": {"gridcolor": "#e6ebf2", "zeroline": False, **(yaxis or {})}, **layout}}


def height(figure: dict) -> int:
    return int(figure["layout"].get("height") or 320)


def hourly(data: dict, lang: str) -> dict:
    hours = list(range(24))
    traces = [{"type": "bar", "x": hours, "y": data["hourly"]["day"], "name": t("briefing.series.day", lang),
               "marker": {"color": COLOURS["day"]}}]
    for name in ("prev_day", "last_week"):
        traces.append({"type": "scatter", "mode": "lines", "x": hours, "y": data["hourly"][name],
                       "name": t(f"briefing.series.{name}", lang),
                       "line": {"color": COLOURS[name], "width": 2, "dash": "dot" if name == "prev_day" else "solid"}})
    return _figure(traces, t("briefing.chart.hourly", lang), height=260,
                   xaxis={"dtick": 2, "ticksuffix": t("briefing.axis.hour_suffix", lang)})


def groups(data: dict, names, lang: str) -> dict:
    rows = sorted(data["groups"], key=lambda r: r["n"])
    labels = [names.group(r["code"]) for r in rows]
    traces = [{"type": "bar", "orientation": "h", "y": labels, "x": [r["last_week"] for r in rows],
               "name": t("briefing.series.last_week", lang), "marker": {"color": COLOURS["last_week"]}, "opacity": 0.55},
              {"type": "bar", "orientation": "h", "y": labels, "x": [r["n"] for r in rows],
               "name": t("briefing.series.day", lang), "marker": {"color": COLOURS["day"]},
               "text": [f"{r['n']:,}" for r in rows], "textposition": "outside", "cliponaxis": False}]
    return _figure(traces, t("briefing.chart.groups", lang), height=max(240, 28 * len(rows) + 90),
                   barmode="group", bargap=0.25, yaxis={"automargin": True, "gridcolor": "rgba(0,0,0,0)"})


def departments(data: dict, names, lang: str) -> dict:
    rows = [d for d in data["departments"] if d["code"] and d["due"] >= RANKING_MIN_DUE] or \
        [d for d in data["departments"] if d["code"]]
    if len(rows) > 2 * DEPARTMENT_BARS:   # a ranking shows both ends: the best and the worst
        rows = rows[:DEPARTMENT_BARS] + rows[-DEPARTMENT_BARS:]
    rows = rows[::-1]   # best at the top of a horizontal bar chart
    traces = [{"type": "bar", "orientation": "h", "y": [names.department(d["code"]) for d in rows],
               "x": [d["score"] for d in rows], "marker": {"color": [GRADE_COLOURS.get(d["grade"], "#888") for d in rows]},
               "text": [f"{d['score']:.1f} {d['grade']} · {d['due']}" for d in rows], "textposition": "inside",
               "insidetextanchor": "end", "textfont": {"color": "#ffffff"}, "showlegend": False}]
    return _figure(traces, t("briefing.chart.departments", lang), height=max(220, 22 * len(rows) + 90),
                   xaxis={"range": [0, 100]}, yaxis={"automargin": True, "gridcolor": "rgba(0,0,0,0)"})


def backtest(data: dict, lang: str) -> dict | None:
    f = data.get("forecast") or {}
    if not f.get("available") or not f["accuracy"]["daily"]:
        return None
    daily = f["accuracy"]["daily"]
    days = [d["day"] for d in daily]
    traces = [
        {"type": "scatter", "x": days + days[::-1], "y": [d["high"] for d in daily] + [d["low"] for d in daily][::-1],
         "fill": "toself", "fillcolor": COLOURS["band"], "line": {"width": 0}, "hoverinfo": "skip",
         "name": t("briefing.series.interval", lang)},
        {"type": "scatter", "mode": "lines", "x": days, "y": [d["mean"] for d in daily],
         "name": t("briefing.series.forecast", lang), "line": {"color": COLOURS["forecast"], "width": 2}},
        {"type": "scatter", "mode": "markers", "x": days, "y": [d["actual"] for d in daily],
         "name": t("briefing.series.actual", lang), "marker": {"color": COLOURS["actual"], "size": 6}},
    ]
    return _figure(traces, t("briefing.chart.backtest", lang), height=260,
                   xaxis={"type": "date", "tickformat": "%m/%d", "dtick": 7 * 86400000, "tick0": days[-1]})


def charts(data: dict, names, lang: str) -> dict[str, dict]:
    """Every chart of a non-empty briefing, by name (``backtest`` only with a forecast)."""
    out = {"hourly": hourly(data, lang), "groups": groups(data, names, lang),
           "departments": departments(data, names, lang)}
    bt = backtest(data, lang)
    if bt is not None:
        out["backtest"] = bt
    return out


_maps: dict = {}
_maps_lock = threading.Lock()


def base_map(scenario, street: str | None = None):
    """The projected map of a scenario's district — or of one ``street`` alone, framed on it
    (a sub-centre's briefing) — built once per process (~0.3 s)."""
    key = (str(scenario.root), street)
    if key not in _maps:
        with _maps_lock:
            if key not in _maps:
                from datasource.tools.svgmap import SvgMap
                streets, grids = scenario.source_geojson("streets"), scenario.grids_geojson
                if street:
                    streets = {**streets, "features": [f for f in streets["features"]
                                                       if f["properties"]["code"] == street]}
                    grids = {**grids, "features": [f for f in grids["features"]
                                                   if f["properties"]["code"].startswith(street)]}
                _maps[key] = SvgMap(streets, grids)
    return _maps[key]


def unusual_map(data: dict, scenario, names, lang: str) -> str:
    """SVG of the unusual places: flagged grids, Gi* cluster grids, flagged streets, numbered
    like the table."""
    u = data.get("unusual") or {}
    markers = [(p["code"], str(i)) for i, p in enumerate(u.get("places", []), 1)]
    legend = [("#d7263d", t("briefing.map.flagged", lang)), ("#f5a623", t("briefing.map.cluster", lang))]
    street_names = {code: names.street(code) for code in scenario.streets}
    scope = data.get("scope")
    return base_map(scenario, scope[:9] if scope else None).draw(flagged=u.get("flagged_grids", []), cluster=u.get("cluster_grids", []),
                                   streets=u.get("flagged_streets", []), markers=markers, names=street_names,
                                   legend=legend)
