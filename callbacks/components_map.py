"""The components layer's callback, registered by each page that shows the layer (one line:
``register_layer(app, services, map_id, "dispatch")``).

The map reports its bounds and zoom after each move (dash-leaflet's ``trackViewport``); the
callback asks :class:`datasource.services.components_map.ComponentLayer` for that viewport —
clusters when zoomed out, points when zoomed in — inside the user's sub-centre scope.
"""
from __future__ import annotations

from dash import Input, Output
from dash.exceptions import PreventUpdate

from callbacks.common import require, user_scope
from layouts.components_map import layer_id


def viewport(bounds) -> tuple[float, float, float, float] | None:
    """(west, south, east, north) from dash-leaflet's ``[[south, west], [north, east]]``."""
    try:
        (south, west), (north, east) = bounds
        box = (float(west), float(south), float(east), float(north))
    except (TypeError, ValueError):
        return None
    return box if box[0] < box[2] and box[1] < box[3] else None


def register_layer(app, services, map_id: str, prefix: str, roles) -> None:
    """Fill ``prefix``'s components layer whenever the map ``map_id`` moves (for ``roles`` only)."""
    layer = services.component_layer

    @app.callback(Output(layer_id(prefix), "data"), Input(map_id, "bounds"), Input(map_id, "zoom"))
    def components_in_view(bounds, zoom):
        require(roles)
        box = viewport(bounds)
        if box is None or zoom is None:
            raise PreventUpdate
        return layer.features(*box, zoom=float(zoom), scope=user_scope())


def register_offenders(app, services, prefix: str, roles, period_id: str, lang_id: str) -> None:
    """Fill ``prefix``'s repeat-offenders panel for the period picked on the page (a
    ``dcc.DatePickerRange`` ``period_id``), inside the user's scope."""
    from dash import State

    from callbacks.reporting import period_from
    from dashboard.domain.evaluation import PeriodError
    from layouts.components_map import offenders_table

    tz = services.scenario.calendar.tz

    @app.callback(Output(f"{prefix}-offenders", "children"), Input(period_id, "start_date"),
                  Input(period_id, "end_date"), State(lang_id, "data"))
    def offenders(first, last, lang):
        require(roles)
        try:
            period = period_from(first, last, tz)
        except PeriodError:
            raise PreventUpdate from None
        rows = services.components.repeat_offenders(period.start, period.end, scope=user_scope())
        return offenders_table(rows, lang, period.days, services.cases)


def register_pick(app, services, prefix: str, roles, picked_id: str, position_id: str, marker_id: str) -> None:
    """A click on a component of ``prefix``'s layer picks it for the report being registered:
    the picked store gets its position and code (the report names it), the position line says
    which component, the marker layer shows where."""
    from dash import State
    from dashboard.i18n import t

    @app.callback(Output(picked_id, "data", allow_duplicate=True), Output(position_id, "children", allow_duplicate=True),
                  Output(marker_id, "data", allow_duplicate=True), Input(layer_id(prefix), "clickData"),
                  State(f"{prefix}-lang", "data"), prevent_initial_call=True)
    def pick_component(click, lang):
        require(roles)
        code = ((click or {}).get("properties") or {}).get("c")
        found = services.components.get(code) if code else None
        if found is None:            # a cluster (it zooms in), or a component gone meanwhile
            raise PreventUpdate
        lon, lat = found["lon"], found["lat"]
        point = {"type": "FeatureCollection", "features": [
            {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]}, "properties": {}}]}
        kind = services.cases.category_name(found["kind"], lang)
        return ({"lon": lon, "lat": lat, "component": code},
                t("components.picked", lang, code=code, kind=kind), point)
