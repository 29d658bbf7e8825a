"""What the evaluation pages' callbacks share: the period from the page's store, the URL a
period choice leads to, and service rows turned into grid rows (the same value rules as the
CSV and Excel exports, :func:`datasource.services.exports.cell`)."""
from __future__ import annotations

from datetime import date
from urllib.parse import urlencode

from dash import Input, Output, State, ctx, no_update
from dash.exceptions import PreventUpdate

from callbacks.common import require
from dashboard.domain.evaluation import TABLES, Period, PeriodError, resolve
from dashboard.i18n import t
from datasource.services.exports import cell
from layouts.ids import Shell

GRADE_COLOURS = {"A": "#2ecc71", "B": "#3ea6ff", "C": "#f1c40f", "D": "#ff9f43", "E": "#ff4d4f", None: "#3b4a66"}
CHART_LAYOUT = {"paper_bgcolor": "rgba(0,0,0,0)", "plot_bgcolor": "rgba(0,0,0,0)", "font": {"color": "#e6edf7"},
                "margin": {"l": 48, "r": 48, "t": 16, "b": 64}, "legend": {"orientation": "h", "y": 1.12},
                "xaxis": {"gridcolor": "#1e2a44"}, "yaxis": {"gridcolor": "#1e2a44"}}


def period_of(store: dict | None) -> Period | None:
    """The period the page was drawn for (its store), or None when its URL was refused."""
    if not store:
        return None
    return Period(date.fromisoformat(store["first"]), date.fromisoformat(store["last"]), store["kind"])


def search_for(kind: str, month: str | None, first: str | None, last: str | None, lang: str,
               today: date) -> tuple[str | None, str | None]:
    """(URL query, None) for a period choice, or (None, message) when it is not a period."""
    query = {"period": kind}
    if kind == "month":
        query["month"] = month or f"{today:%Y-%m}"
    elif kind == "custom":
        query.update({"from": first or "", "to": last or ""})
    try:
        period = resolve(query, today)
    except PeriodError as exc:
        return None, t(exc.key, lang, **{k: str(v) for k, v in exc.values.items()})
    return "?" + urlencode({**period.query(), "lang": lang}), None


def grid_rows(table: str, rows: list[dict], lang: str, tz, keep=()) -> list[dict]:
    """Service rows as grid rows: every column of ``table`` in its page form, plus ``keep``."""
    spec = TABLES[table]
    return [{**{c: cell(r, c, k, lang, tz, target="page") for c, k in spec}, **{k: r.get(k) for k in keep}}
            for r in rows]


def pct(rate: float | None) -> str:
    return "—" if rate is None else f"{100 * rate:.1f}%"


def num(value, digits: int = 1) -> str:
    return "—" if value is None else (f"{value:,}" if isinstance(value, int) else f"{value:.{digits}f}")


def register_period_choice(app, ids, roles, today) -> None:
    """A period choice (``ids``: PERIOD_KIND, MONTH, FIRST, LAST, APPLY, PERIOD_ERROR, LANG)
    goes into the URL, so a view can be shared; the router redraws the page for it.  Today,
    7 and 30 days apply at once; a month or custom dates wait for 查询 / Show."""

    @app.callback(Output(Shell.URL.value, "search", allow_duplicate=True),
                  Output(ids.PERIOD_ERROR.value, "children"),
                  Input(ids.APPLY.value, "n_clicks"), Input(ids.PERIOD_KIND.value, "value"),
                  State(ids.MONTH.value, "value"), State(ids.FIRST.value, "value"), State(ids.LAST.value, "value"),
                  State(ids.LANG.value, "data"), State(ids.PERIOD.value, "data"), prevent_initial_call=True)
    def choose(apply, kind, month, first, last, lang, shown):
        require(roles)
        if ctx.triggered_id == ids.APPLY.value and not apply:
            raise PreventUpdate   # the button was drawn, not clicked
        if ctx.triggered_id == ids.PERIOD_KIND.value and (
                not kind or kind in ("month", "custom") or kind == (shown or {}).get("kind")):
            raise PreventUpdate   # drawn, not changed; or a month / dates to pick before 查询
        search, error = search_for(kind, month, first, last, lang, today())
        return (search, "") if search else (no_update, error)
