"""The component page (``/components/<code>``): a city component's data — code, kind, class,
position, grid, its three departments, status — and its whole case history.

The layout only draws the frame; ``callbacks/components.py`` reads the component through
:class:`datasource.services.components.ComponentQueries` and fills it.
"""
from __future__ import annotations

from enum import Enum

from dash import dcc, html

from dashboard.domain.permissions import READ_ROLES
from dashboard.i18n import t

PATH = "/components/<code>"
TITLE = "components.layer"
ROLES = READ_ROLES


class Ids(str, Enum):
    LANG = "component-lang"
    CODE = "component-code"
    BODY = "component-body"
    CASES = "component-cases"


def layout(lang: str, query: dict, services) -> html.Div:
    return html.Div([
        dcc.Store(id=Ids.LANG.value, data=lang),
        dcc.Store(id=Ids.CODE.value, data=query.get("code")),
        html.Section(html.Div(html.P("…", className="muted"), id=Ids.BODY.value), className="component-data"),
        html.Section(html.Div(id=Ids.CASES.value), className="component-history"),
    ], className="component-page")


def _row(label_key: str, value, lang: str) -> list:
    return [html.Dt(t(label_key, lang)), html.Dd(value if value not in (None, "") else "—")]


def component_data(c: dict, lang: str, names) -> list:
    """The component's fields as a definition list (``names``: the case queries' look-ups)."""
    major = c["code"][6:8]
    dept = lambda code: names.department_name(code, lang) if code else "—"  # noqa: E731
    fields = [
        *_row("components.code", html.Span(c["code"], id="component-code-text", className="case-id"), lang),
        *_row("components.kind", f"{names.category_name(c['kind'], lang)} ({c['kind']})", lang),
        *_row("components.class", t(f"components.major.{major}", lang), lang),
        *_row("components.name", c.get("name"), lang),
        *_row("components.position", f"{c['lon']:.6f}, {c['lat']:.6f}", lang),
        *_row("components.street", names.street_name(c.get("street_code")), lang),
        *_row("components.grid", c.get("grid_code"), lang),
        *_row("components.owner", dept(c.get("owner_department")), lang),
        *_row("components.title_holder", dept(c.get("title_department")), lang),
        *_row("components.maintainer", html.Span(dept(c.get("maintainer_department")), id="component-maintainer",
                                                 **{"data-department": c.get("maintainer_department") or ""}), lang),
        *_row("components.status", t(f"components.status.{c.get('status')}", lang), lang),
        *_row("components.installed", c.get("installed_on"), lang),
        *_row("components.origin", t(f"components.origin.{c.get('origin')}", lang) if c.get("origin") else None,
              lang),
    ]
    return [html.H2(t("components.title", lang, code=c["code"])), html.Dl(fields, className="fields")]


def case_history(cases: list[dict], lang: str, names, fmt_time, tz) -> list:
    """Every case that named the component, newest first, each a link to the page that shows it."""
    title = html.H2(t("components.history", lang, n=len(cases)))
    if not cases:
        return [title, html.P(t("components.no_cases", lang), className="muted")]
    head = html.Tr([html.Th(t(k, lang)) for k in ("components.case", "components.reported", "components.category",
                                                  "components.stage", "components.department",
                                                  "components.description")])
    rows = [html.Tr([
        html.Td(html.A(r["case_id"], href=f"/intake?case={r['case_id']}&lang={lang}", className="case-id")),
        html.Td(fmt_time(r["reported_at"], tz)),
        html.Td(names.category_name(r["category_code"], lang)),
        html.Td(t(f"stage.{r['stage']}", lang)),
        html.Td(names.department_name(r["department_code"], lang) if r.get("department_code") else "—"),
        html.Td(r.get("description") or "—", className="description"),
    ], className="component-case", **{"data-case": r["case_id"]}) for r in cases]
    return [title, html.Table([html.Thead(head), html.Tbody(rows)], className="component-cases")]
