"""What the pages' callbacks share: the server-side role check, the logged-in actor, case
markers, form values, messages, the case panel's change detection and the "run the clicked
action" step of the work pages.

Every callback that reads case data or acts calls :func:`require` (or :func:`allowed`)
first: hiding a button is not security.  The rules themselves live in
:mod:`dashboard.domain.permissions`.
"""
from __future__ import annotations

import hashlib
import time
from datetime import datetime

from dash import ALL, Input, Output, State, ctx, html
from dash.exceptions import PreventUpdate
from flask import request
from flask_login import current_user

from dashboard.domain.permissions import may_open
from dashboard.i18n import t
from datasource.services.command_types import Actor, CommandRefused


def current_role() -> str | None:
    """The role of whoever sent this request (None when nobody is logged in)."""
    return current_user.role if getattr(current_user, "is_authenticated", False) else None


def allowed(roles) -> bool:
    """Whether the logged-in user may use a page or callback limited to ``roles``."""
    return may_open(current_role(), roles)


def actor() -> Actor:
    """The logged-in user as the command service's actor (with the request's address)."""
    return Actor.of(current_user, request.remote_addr)


def user_scope() -> str | None:
    """The logged-in user's sub-centre (street or community code); None = the whole district."""
    return getattr(current_user, "scope", None) if getattr(current_user, "is_authenticated", False) else None


def require(roles) -> None:
    if not allowed(roles):
        raise PreventUpdate


def features(rows: list[dict], kind: str, queries, lang: str) -> dict:
    """Cases as GeoJSON points; properties are plain values the map's JS shows as text."""
    return {"type": "FeatureCollection", "features": [{
        "type": "Feature", "geometry": {"type": "Point", "coordinates": [r["lon"], r["lat"]]},
        "properties": {"case_id": r["case_id"], "kind": kind, "light": r["light"],
                       "label": queries.category_name(r["category_code"], lang),
                       "place": queries.street_name(r["street_code"]),
                       "stage_label": t(f"stage.{r['stage']}", lang)}} for r in rows]}


def parse_local(value: str | None, tz) -> datetime | None:
    """A ``datetime-local`` input value (no offset) read in the centre's time zone."""
    if not value:
        return None
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        return None
    return at.replace(tzinfo=tz) if at.tzinfo is None else at


def input_value(at: datetime | None, tz) -> str | None:
    return at.astimezone(tz).strftime("%Y-%m-%dT%H:%M") if at else None


def message(text: str, ok: bool) -> html.Div:
    return html.Div(text, className="msg-ok" if ok else "msg-error")


def shown_state(case: dict) -> dict:
    """What the panel shows of a case: its command-side version, and whether the reporting
    database had caught up (if not, the next tick draws the panel again)."""
    version = case["command"]["version"]
    return {"version": version, "synced": bool(case.get("projected") and case.get("version") == version)}


def unchanged(queries, case_id: str, shown: dict | None) -> bool:
    """On a tick: whether the panel already shows the case's latest state (one Redis read)."""
    if not shown or not shown.get("synced"):
        return False
    return int(queries.command_state(case_id).get("version") or 0) == shown.get("version")


def picked_case(click) -> str:
    """The case a click chose: a queue row (pattern-matched id) or a map marker."""
    trigger = ctx.triggered_id
    if isinstance(trigger, dict):
        if not ctx.triggered[0]["value"]:
            raise PreventUpdate  # the queue was redrawn, nobody clicked
        return trigger["case"]
    case_id = ((click or {}).get("properties") or {}).get("case_id")
    if not case_id:
        raise PreventUpdate  # a cluster
    return case_id


def case_for_panel(queries, case_id, shown, lang: str, tick_id: str) -> dict | None:
    """The case to draw in the panel; PreventUpdate when none is selected, or when the
    refresh tick finds it unchanged since it was shown."""
    if not case_id:
        raise PreventUpdate
    if ctx.triggered_id == tick_id and unchanged(queries, case_id, shown):
        raise PreventUpdate
    if not may_read(queries, case_id):
        return None  # another department's or sub-centre's case: shown as not found
    return queries.case(case_id, lang)


def may_read(queries, case_id: str) -> bool:
    """Whether the logged-in user may read this case (the domain's one rule, as the API asks it)."""
    return queries.may_read(case_id, current_role(), getattr(current_user, "department_code", None), user_scope())


def signature(*parts) -> str:
    """A short digest of what a refresh would draw: equal digests mean nothing to redraw."""
    return hashlib.blake2b(repr(parts).encode(), digest_size=12).hexdigest()


def queue_signature(rows: list[dict], *extra) -> str:
    """:func:`signature` of queue rows by what a row shows (stage, version, light, wait)."""
    return signature([(r["case_id"], r["stage"], r["version"], r["light"], r["waiting_min"]) for r in rows], *extra)


def clicked_action(buttons: dict, case_id, roles, lang: str):
    """The action and its fixed parameters of the button that was clicked, for ``case_id``.

    PreventUpdate when nothing was really clicked or no case is open; a refusal message
    (to return as is) when the user's role may not act here."""
    if not ctx.triggered_id or not ctx.triggered[0]["value"] or not case_id:
        raise PreventUpdate
    if not allowed(roles):
        return None, message(t("page.forbidden", lang), False)
    action, extra = buttons[ctx.triggered_id][:2]
    return (action, dict(extra)), None


def run_action(commands, action: str, case_id: str, params: dict, lang: str, done_key: str = "intake.done"):
    """Run one command for the logged-in user; (message, refresh stamp) for the page."""
    try:
        commands.execute(actor(), action, case_id, params)
    except CommandRefused as exc:
        return message(exc.message(lang), False), time.time()
    return message(t(done_key, lang, case=case_id, action=t(f"action.{action}", lang)), True), time.time()


# ---------------------------------------------------------------------------- true queues
def register_view(app, page: str, view_id: str, refresh_id: str, sort: str = "urgent") -> None:
    """Wire a work page's filter bar and pagers (``layouts.common.queue_filters`` / ``pager``) to
    its view store ``{"filters", "sort", "pages": {box: n}}``; each change stamps the page's
    refresh store, so its refresh callback redraws with the view (a new filter → page 1)."""
    from layouts.common import FILTER, PAGER

    @app.callback(Output(view_id, "data", allow_duplicate=True), Output(refresh_id, "data", allow_duplicate=True),
                  Input({"type": FILTER, "page": page, "field": ALL}, "value"), prevent_initial_call=True)
    def filtered(values):
        fields = [item["id"]["field"] for item in ctx.inputs_list[0]]
        chosen = dict(zip(fields, values))
        wanted = chosen.pop("sort", None) or sort
        return {"filters": chosen, "sort": wanted, "pages": {}}, time.time()

    @app.callback(Output(view_id, "data", allow_duplicate=True), Output(refresh_id, "data", allow_duplicate=True),
                  Input({"type": PAGER, "page": page, "box": ALL, "to": ALL}, "n_clicks"), State(view_id, "data"),
                  prevent_initial_call=True)
    def paged(_clicks, view):
        trigger = ctx.triggered_id
        if not isinstance(trigger, dict) or not ctx.triggered[0]["value"]:
            raise PreventUpdate  # the pagers were redrawn, nobody clicked
        view = dict(view or {})
        view["pages"] = dict(view.get("pages") or {}, **{trigger["box"]: max(1, int(trigger["to"]))})
        return view, time.time()


def view_of(view: dict | None, default_sort: str = "urgent"):
    """(QueueFilter, sort, pages by box) of a page's view store (anything missing: defaults)."""
    from datasource.services.queues import QueueFilter
    view = view or {}
    return QueueFilter.of(view.get("filters")), view.get("sort") or default_sort, dict(view.get("pages") or {})
