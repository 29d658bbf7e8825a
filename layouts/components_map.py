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
