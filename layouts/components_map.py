"""Drawing helpers for city components that other pages call with a one-line hook.

* :func:`components_layer` — the components layer for a page's map (an empty GeoJSON layer in
  a pane of its own below the case markers; ``callbacks/components_map.register_layer`` fills it
  per viewport with server-side clusters or points, ``assets/components.js`` draws them);
* :func:`component_field` — the "component" line of a case panel (dispatch, verification);
* :func:`advice_notes` — the dispatch recommendation's warnings, as notes under the form.

Pure drawing: plain data in, Dash components out.
"""
from __future__ import annotations

import dash_leaflet as dl
from dash import html

from dashboard.i18n import t

JS = "citygridComponents"   # namespace of assets/components.js


def layer_id(prefix: str) -> str:
    """The id of a page's components layer (``dispatch`` → ``dispatch-components``)."""
    return f"{prefix}-components"


def components_layer(prefix: str, legend: dict, shown: bool = True, z_index: int = 380) -> dl.LayersControl:
    """The (initially empty) components layer of a page's map, with a switch to show or hide it
    (bottom right; ``shown`` at first).  ``legend`` is the service's
    :meth:`~datasource.services.components_map.ComponentLayer.legend` (names and colours the
    browser labels features with, sent once).  The pane sits above the base map and, at the
    default ``z_index``, below the case markers (Leaflet's overlay pane is 400)."""
    pane = dl.Pane(dl.GeoJSON(id=layer_id(prefix), data={"type": "FeatureCollection", "features": []},
                              hideout=legend, pointToLayer={"variable": f"{JS}.pointToLayer"},
                              onEachFeature={"variable": f"{JS}.onEachFeature"}),
                   name=f"{prefix}-components-pane", style={"zIndex": z_index})
    return dl.LayersControl([dl.Overlay(pane, name=legend.get("texts", {}).get("layer", "components"),
                                        checked=shown)], position="bottomright", id=f"{prefix}-components-control")


def component_field(case: dict, lang: str, queries) -> html.Div | None:
    """The component a case names — code (a link to its page) and kind — or None."""
    code = case.get("component_code")
    if not code:
        return None
    kind = f"C{code[6:10]}"
    return html.Div([html.Dt(t("components.case_component", lang)), html.Dd([
        html.A(code, href=f"/components/{code}?lang={lang}", className="case-component", target="_blank",
               **{"data-component": code}),
        html.Span(f" {queries.category_name(kind, lang)}", className="muted")])], className="field")


def advice_notes(advice: dict, lang: str) -> list:
    """Warnings about the proposed department (poor on-time rate, heavy load) as notes."""
    return [html.Div(w["en" if lang == "en" else "zh"], className="msg-warn dispatch-warning",
                     **{"data-warning": w["key"]}) for w in advice.get("warnings") or []]


def offenders_panel(prefix: str, lang: str) -> html.Section:
    """The repeat-offenders panel of a supervisors' page (filled by
    ``callbacks/components_map.register_offenders``)."""
    return html.Section([
        html.Div([html.H2(t("components.offenders", lang))], className="section-head"),
        html.Div(id=f"{prefix}-offenders", className="offenders-body"),
    ], className="report-section offenders", id=f"{prefix}-offenders-box")


def offenders_table(rows: list[dict], lang: str, days: int, names) -> html.Div:
    """The repeat offenders as a table: component (a link to its page), kind, street, cases,
    last report, maintainer.  ``names`` is the case queries' name look-up (category, street,
    department)."""
    note = html.P(t("components.offenders_note", lang, days=days), className="muted small")
    if not rows:
        return html.Div([note, html.P(t("components.offenders_none", lang, days=days), className="muted")])
    head = html.Tr([html.Th(t(k, lang)) for k in ("components.code", "components.kind", "components.street",
                                                  "components.cases", "components.maintainer")])
    body = [html.Tr([
        html.Td(html.A(r["code"], href=f"/components/{r['code']}?lang={lang}", className="offender-code",
                       **{"data-component": r["code"]})),
        html.Td(names.category_name(r["kind"], lang) if r.get("kind") else "—"),
        html.Td(names.street_name(r["street_code"]) if r.get("street_code") else "—"),
        html.Td(t("components.cases_n", lang, n=r["cases"]), **{"data-cases": str(r["cases"])}),
        html.Td(names.department_name(r["maintainer_department"], lang) if r.get("maintainer_department") else "—"),
    ]) for r in rows]
    return html.Div([note, html.Table([html.Thead(head), html.Tbody(body)], className="offenders-table")])
