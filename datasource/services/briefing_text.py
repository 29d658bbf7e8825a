"""The briefing in words: number formats and the narrative written from the data.

Every sentence is a template of the i18n catalogue (``dashboard/i18n/briefing.py``)
filled with figures of :meth:`datasource.services.briefing.BriefingService.build`, so the
text states exactly the numbers the headline cards and tables show — and the tests check
those facts against the database.
"""
from __future__ import annotations

from datetime import date, datetime

from dashboard.domain.briefing import RANKING_MIN_DUE, RATES
from dashboard.i18n import t

MIN_CHANGE = 3   # a rise or fall smaller than this many cases is not "the biggest change"


# ---------------------------------------------------------------------------- formats
def count(n) -> str:
    return "—" if n is None else f"{int(round(n)):,}"


def pct(rate, digits: int = 1) -> str:
    return "—" if rate is None else f"{rate * 100:.{digits}f}%"


def points(delta) -> str:
    return f"{delta * 100:+.1f}"


def day_label(day: str | date, lang: str, weekday: bool = True) -> str:
    d = date.fromisoformat(day) if isinstance(day, str) else day
    name = t(f"briefing.weekday.{d.weekday()}", lang)
    if lang == "en":
        return f"{name} {d.day} {d.strftime('%B')} {d.year}" if weekday else f"{d.day} {d.strftime('%B')} {d.year}"
    return f"{d.year}年{d.month}月{d.day}日（{name}）" if weekday else f"{d.year}年{d.month}月{d.day}日"


def short_day(day: str | date, lang: str) -> str:
    d = date.fromisoformat(day) if isinstance(day, str) else day
    name = t(f"briefing.weekday.{d.weekday()}", lang)
    return f"{name} {d.day} {d.strftime('%b')}" if lang == "en" else f"{d.month}月{d.day}日（{name}）"


def clock(at: str | datetime, tz, lang: str) -> str:
    value = datetime.fromisoformat(at) if isinstance(at, str) else at
    local = value.astimezone(tz)
    return local.strftime("%d %b %H:%M") if lang == "en" else f"{local.month}月{local.day}日 {local:%H:%M}"


def duration(minutes: int | None, lang: str) -> str:
    if minutes is None:
        return "—"
    if minutes < 60:
        return t("briefing.minutes", lang, n=minutes)
    if minutes < 48 * 60:
        return t("briefing.hours", lang, h=minutes // 60, m=minutes % 60)
    return t("briefing.days", lang, d=minutes // 1440, h=minutes % 1440 // 60)


def change_phrase(entry: dict, comparison: str, name: str, lang: str) -> str:
    """'增加 6.2%' / 'up 6.2%' / '上升 2.1 个百分点' … for one comparison of a headline."""
    ch = entry[comparison]
    if ch["delta"] is None:
        return t("briefing.change.none", lang)
    if name in RATES:
        if abs(ch["delta"]) < 0.0005:
            return t("briefing.change.flat", lang)
        key = "briefing.change.pp_up" if ch["delta"] > 0 else "briefing.change.pp_down"
        return t(key, lang, n=f"{abs(ch['delta']) * 100:.1f}")
    if ch["delta"] == 0:
        return t("briefing.change.flat", lang)
    if ch["relative"] is None:
        return t("briefing.change.from_zero", lang, n=count(ch["delta"]))
    key = "briefing.change.up" if ch["delta"] > 0 else "briefing.change.down"
    return t(key, lang, pct=f"{abs(ch['relative']) * 100:.1f}%", n=count(abs(ch["delta"])))


def change_badge(entry: dict, comparison: str, name: str, lang: str) -> str:
    """The short form on a headline card: '+6.2%' / '+2.1 pts' / '+12'."""
    ch = entry[comparison]
    if ch["delta"] is None:
        return "—"
    if name in RATES:
        return t("briefing.badge.pp", lang, n=points(ch["delta"]))
    if ch["relative"] is None or name == "overdue":
        return f"{int(ch['delta']):+,}"
    return f"{ch['relative'] * 100:+.1f}%"


def usual(expected: float, lang: str) -> str:
    """What a place usually sees: 'about 0.6' — or 'none' below 0.05 (never 'about 0.0')."""
    if expected < 0.05:
        return t("briefing.usual.none", lang)
    return t("briefing.usual.some", lang, e=f"{expected:.1f}")


def place_name(place: dict, names, lang: str) -> str:
    """A flagged place in words: street · community · grid …003, or the street."""
    if place["level"] == "street":
        return names.street(place["code"])
    return t("briefing.place.grid", lang, street=names.street(place["street"]),
             community=names.community(place["community"]), tail=place["code"][-3:], code=place["code"])


# ---------------------------------------------------------------------------- narrative
def narrative(data: dict, names, lang: str, tz) -> list[str]:
    """The briefing's paragraphs, in ``lang``, from the data alone."""
    if data.get("empty"):
        return [t(f"briefing.empty.{data.get('reason', 'no_data')}", lang, day=day_label(data["day"], lang))]
    h = data["headlines"]
    paragraphs = [
        t("briefing.text.volume", lang, day=day_label(data["day"], lang), new=count(h["new"]["value"]),
          prev=change_phrase(h["new"], "prev_day", "new", lang),
          week=change_phrase(h["new"], "last_week", "new", lang),
          filed=count(h["filed"]["value"]), dispatched=count(h["dispatched"]["value"]),
          closed=count(h["closed"]["value"]))
        + ("" if data.get("complete") else t("briefing.text.partial", lang, at=clock(data["as_of"], tz, lang))),
        _performance(data, lang, tz),
    ]
    for sentence in (_biggest_changes(data, names, lang), _departments(data, names, lang),
                     _unusual(data, names, lang), _emergencies(data, lang), _forecast(data, lang, names.area(data.get("scope")))):
        if sentence:
            paragraphs.append(sentence)
    return paragraphs


def _performance(data: dict, lang: str, tz) -> str:
    h, c = data["headlines"], data["cohort"]
    tail = t("briefing.text.overdue", lang, overdue=count(h["overdue"]["value"]),
             prev=change_phrase(h["overdue"], "prev_day", "overdue", lang),
             share=pct(h["public_share"]["value"]))
    if not c["due"]:
        return t("briefing.text.no_cohort", lang) + tail
    return t("briefing.text.cohort", lang, due=count(c["due"]), at=clock(data["as_of"], tz, lang),
             closed=count(c["closed"]), closure=pct(h["closure_rate"]["value"]), handled=count(c["handled"]),
             on_time=count(c["on_time"]), on_time_rate=pct(h["on_time_rate"]["value"]),
             week=change_phrase(h["on_time_rate"], "last_week", "on_time_rate", lang)) + tail


def biggest_changes(data: dict) -> tuple[dict | None, dict | None]:
    """The largest rise and the largest fall against the same weekday last week, among
    category groups and streets (each at least :data:`MIN_CHANGE` cases); None if none."""
    candidates = [("group", r) for r in data["groups"]] + [("street", r) for r in data["streets"]]
    rises = [(r["n"] - r["last_week"], kind, r) for kind, r in candidates if r["n"] - r["last_week"] >= MIN_CHANGE]
    falls = [(r["last_week"] - r["n"], kind, r) for kind, r in candidates if r["last_week"] - r["n"] >= MIN_CHANGE]

    def best(items):
        if not items:
            return None
        delta, kind, row = max(items, key=lambda x: (x[0], x[1] == "group", x[2]["code"]))
        return {"kind": kind, "code": row["code"], "n": row["n"], "base": row["last_week"], "delta": delta}
    return best(rises), best(falls)


def _biggest_changes(data: dict, names, lang: str) -> str:
    rise, fall = biggest_changes(data)
    if rise is None and fall is None:
        return t("briefing.text.steady", lang)

    def name(item):
        return names.group(item["code"]) if item["kind"] == "group" else names.street(item["code"])
    parts = []
    if rise:
        parts.append(t("briefing.text.rise", lang, name=name(rise), n=count(rise["n"]), d=count(rise["delta"])))
    if fall:
        parts.append(t("briefing.text.fall", lang, name=name(fall), n=count(fall["n"]), d=count(fall["delta"])))
    return t("briefing.text.changes", lang, parts=t("briefing.join", lang).join(parts))


def ranked_departments(data: dict, minimum: int) -> list[dict]:
    return [d for d in data["departments"] if d["due"] >= minimum and d["code"]]


def _departments(data: dict, names, lang: str) -> str:
    ranked = ranked_departments(data, RANKING_MIN_DUE)
    if len(ranked) < 2:
        return t("briefing.text.few_departments", lang, n=RANKING_MIN_DUE)
    best, worst = ranked[0], ranked[-1]

    def describe(d):
        return t("briefing.text.dept", lang, name=names.department(d["code"]), score=f"{d['score']:.1f}",
                 closure=pct(d["closure_rate"]), on_time=pct(d["on_time_rate"]), due=count(d["due"]))
    return t("briefing.text.departments", lang, n=RANKING_MIN_DUE, best=describe(best), worst=describe(worst))


def _unusual(data: dict, names, lang: str) -> str:
    u = data["unusual"]
    if not u.get("available"):
        return t("briefing.text.unusual_unavailable", lang)
    out = []
    places = u["places"]
    if places:
        listed = [t("briefing.text.place", lang, place=place_name(p, names, lang), group=names.group(p["group"]),
                    n=count(p["observed"]), e=usual(p["expected"], lang)) for p in places[:3]]
        out.append(t("briefing.text.unusual", lang, n=u.get("flagged_count", len(places)),
                     places=t("briefing.join", lang).join(listed), q=pct(u["level"], 0)))
    else:
        out.append(t("briefing.text.no_unusual", lang, q=pct(u["level"], 0)))
    if u["clusters"]:
        c = u["clusters"][0]
        out.append(t("briefing.text.cluster", lang, k=u.get("cluster_count", len(u["clusters"])),
                     street=names.street(c["street"]), grids=len(c["grids"]), n=count(c["observed"]),
                     e=usual(c["expected"], lang)))
    return "".join(out)


def emergency_outcome(e: dict) -> str:
    """closed · handled (waiting for verification) · open_overdue · open · rejected · suspended."""
    stage = e.get("stage")
    if stage == "closed":
        return "closed"
    if stage in ("handled", "verified"):
        return "handled"
    if stage in ("rejected", "suspended"):
        return stage
    return "open_overdue" if e.get("overdue") else "open"


def _emergencies(data: dict, lang: str) -> str:
    items = data["emergencies"]
    if not items:
        return t("briefing.text.no_emergencies", lang)
    outcomes = [emergency_outcome(e) for e in items]
    n_open = outcomes.count("open") + outcomes.count("open_overdue")
    return t("briefing.text.emergencies", lang, n=len(items), closed=outcomes.count("closed"),
             handled=outcomes.count("handled"), open=n_open, overdue=outcomes.count("open_overdue"))


def _forecast(data: dict, lang: str, area: str = "") -> str:
    f = data.get("forecast") or {}
    if not f.get("available"):
        return ""
    a = f["accuracy"]
    return t("reports9.briefing.text.forecast" if area else "briefing.text.forecast", lang, area=area, day=short_day(f["day"], lang), mean=count(f["total"]["mean"]),
             low=count(f["total"]["low"]), high=count(f["total"]["high"]), level=pct(f["level"], 0),
             days=a["days"], mape=pct(a["mape_total"]), coverage=pct(a["coverage"]))
