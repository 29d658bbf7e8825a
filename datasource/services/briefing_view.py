"""The briefing formatted for reading, in one language: every figure, table cell and
sentence as text.  The page (``layouts/briefing.py``) and the PDF template place these
strings; neither formats a number itself, so the two always say the same thing."""
from __future__ import annotations

from dashboard.domain.briefing import COMPARISONS, HEADLINES, RANKING_MIN_DUE, RATES
from dashboard.i18n import t
from dashboard.i18n.city import zone_label
from datasource.services import briefing_text as fmt
from datasource.services.briefing import Names


def view(data: dict, scenario, lang: str) -> dict:
    """Strings for every part of the briefing of ``data`` (see the module docstring)."""
    names = Names(scenario, lang)
    tz = scenario.calendar.tz
    scope = data.get("scope")
    area = names.area(scope)
    out = {"lang": lang, "day": data["day"], "scope": scope,
           "title": t("city.briefing.scope_title", lang, district=scenario.district_name(lang), area=area) if scope
           else t("city.briefing.title", lang, district=scenario.district_name(lang)),
           "scope_note": t("reports9.briefing.scope", lang, area=area) if scope else None,
           "day_label": fmt.day_label(data["day"], lang),
           "as_of": t("city.briefing.as_of", lang, at=fmt.clock(data["as_of"], tz, lang), zone=zone_label(tz, lang)),
           "partial": None if data.get("complete", True) else t("briefing.partial", lang),
           "empty": bool(data.get("empty")), "narrative": fmt.narrative(data, names, lang, tz)}
    if out["empty"]:
        return out
    out["cards"] = [_card(name, data["headlines"][name], lang) for name in HEADLINES]
    out["unusual"] = _unusual(data["unusual"], names, lang)
    out["forecast"] = _forecast(data["forecast"], names, lang, area)
    ranked = [d for d in data["departments"] if d["code"] and d["due"] >= RANKING_MIN_DUE]
    others = sum(1 for d in data["departments"] if d["code"] and d["due"] < RANKING_MIN_DUE)
    out["departments"] = {"rows": [[names.department(d["code"]), fmt.count(d["due"]), fmt.count(d["closed"]),
                                    fmt.pct(d["closure_rate"]), fmt.pct(d["on_time_rate"]), fmt.pct(d["rework_rate"]),
                                    f"{d['score']:.1f}", d["grade"]] for d in ranked],
                          "others": t("briefing.dept.others", lang, n=others, min=RANKING_MIN_DUE) if others else None}
    out["overdue"] = [[c["case_id"], names.category(c["category"]), names.street(c["street"]),
                       names.department(c["department"]), t(f"stage.{c['stage']}", lang),
                       fmt.duration(c["overdue_minutes"], lang),
                       t(f"stage.{c['stage_now']}", lang) if c["stage_now"] else "—"] for c in data["overdue_cases"]]
    out["emergencies"] = [[fmt.clock(e["reported_at"], tz, lang), e["case_id"], names.category(e["category"]),
                           names.street(e["street"]), names.department(e["department"]) if e["department"] else "—",
                           fmt.duration(e["to_dispatch_min"], lang), fmt.duration(e["to_handle_min"], lang),
                           t(f"briefing.outcome.{fmt.emergency_outcome(e)}", lang), fmt.emergency_outcome(e)]
                          for e in data["emergencies"]]
    return out


def _card(name: str, entry: dict, lang: str) -> dict:
    value = entry["value"]
    return {"name": name, "label": t(f"briefing.h.{name}", lang),
            "value": fmt.pct(value) if name in RATES else fmt.count(value),
            "changes": [{"label": t(f"briefing.vs.{c}", lang), "badge": fmt.change_badge(entry, c, name, lang),
                         "direction": entry[c]["direction"]} for c, _ in COMPARISONS]}


def _unusual(u: dict, names, lang: str) -> dict:
    if not u.get("available"):
        return {"available": False, "method": t("briefing.text.unusual_unavailable", lang), "rows": [], "clusters": []}
    from datasource.analysis.hotspots import FALLBACK_DAYS, MIN_WEEKS
    method = t(f"briefing.method.{u['baseline']}", lang, weeks=u["weeks"], days=len(u["baseline_days"]),
               m=f"{u['family']:,}", q=fmt.pct(u["level"], 0), min=MIN_WEEKS, fallback=FALLBACK_DAYS)
    rows = [[str(i), fmt.place_name(p, names, lang), t(f"briefing.level.{p['level']}", lang), names.group(p["group"]),
             fmt.count(p["observed"]), f"{p['expected']:.1f}" if p["expected"] >= 0.05 else "<0.1", _p(p["p"])]
            for i, p in enumerate(u["places"], 1)]
    clusters = [t("briefing.unusual.cluster_row", lang, street=names.street(c["street"]), grids=len(c["grids"]),
                  n=fmt.count(c["observed"]), e=fmt.usual(c["expected"], lang), z=f"{c['z']:.1f}") for c in u["clusters"]]
    more = u.get("flagged_count", len(u["places"])) - len(u["places"])
    return {"available": True, "method": method, "rows": rows, "clusters": clusters,
            "more": t("briefing.unusual.more", lang, n=more) if more > 0 else None,
            "partial": t("briefing.unusual.partial", lang) if u.get("partial_day") else None}


def _p(p: float) -> str:
    return f"{p:.1e}" if p < 0.001 else f"{p:.3f}"


def _forecast(f: dict, names, lang: str, area: str = "") -> dict:
    if not f.get("available"):
        return {"available": False, "message": t(f"briefing.forecast.unavailable.{f.get('reason', 'short_history')}", lang)}
    a = f["accuracy"]
    level = fmt.pct(f["level"], 0)
    kind = t("briefing.forecast.working" if f["working_day"] else "briefing.forecast.day_off", lang)

    def row(r, name):
        return [name, fmt.count(r["mean"]), f"{r['low']:,}–{r['high']:,}"]
    return {"available": True,
            "heading": t("briefing.forecast.heading", lang, day=f"{fmt.short_day(f['day'], lang)} · {kind}"),
            "total": t("reports9.briefing.forecast_total" if area else "briefing.forecast.total", lang, area=area,
                       mean=fmt.count(f["total"]["mean"]), level=level,
                       low=f"{f['total']['low']:,}", high=f"{f['total']['high']:,}"),
            "model": t("briefing.forecast.model", lang, window=f["window"], level=level),
            "accuracy": t("reports9.briefing.forecast.accuracy" if area else "briefing.forecast.accuracy", lang,
                          area=area, days=a["days"], mape_total=fmt.pct(a["mape_total"]),
                          mape_streets=fmt.pct(a["mape_streets"]), level=level, coverage=fmt.pct(a["coverage"]),
                          coverage_streets=fmt.pct(a["coverage_streets"]), coverage_total=fmt.pct(a["coverage_total"])),
            "streets": [row(r, names.street(r["code"])) for r in sorted(f["streets"], key=lambda r: -r["mean"])],
            "groups": [row(r, names.group(r["code"])) for r in sorted(f["groups"], key=lambda r: -r["mean"])]}
