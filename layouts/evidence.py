"""The evidence panel (issue 11): a case's photos before (report), after (handling) and at
verification, side by side, and an upload box for the photos the case's stage asks of the
user's role.  Not a page: /intake and /department each place :func:`panel` in their case
panel (ids prefixed with the host page), wired by ``callbacks/evidence.py``."""
from __future__ import annotations

from dash import dcc, html

from dashboard.i18n import t

#: host page → (its selected-case store, its refresh store, its tick): the inputs the panel follows
HOSTS = {"intake": ("intake-selected", "intake-refresh", "intake-tick"),
         "department": ("department-selected", "department-refresh", "department-tick")}
ACCEPT = "image/jpeg,image/png,image/webp"
COLUMNS = (("before", "evidence.before"), ("after", "evidence.after"), ("check", "evidence.check"))


def ids(host: str) -> dict[str, str]:
    """The component ids of the panel on ``host``."""
    return {name: f"{host}-evidence-{name}" for name in ("box", "pairs", "upload", "message", "signature")}


def panel(host: str, lang: str, max_bytes: int) -> html.Div:
    """The (initially empty) panel; the upload box shows only when the user may add photos."""
    names = ids(host)
    return html.Div([
        dcc.Store(id=names["signature"]),
        html.H4(t("evidence.title", lang)),
        html.Div(id=names["pairs"], className="evidence-pairs"),
        dcc.Upload(html.Div(t("evidence.drop", lang)), id=names["upload"], multiple=True, accept=ACCEPT,
                   max_size=2 * max_bytes, className="evidence-upload hidden"),
        html.Div(id=names["message"], className="message", role="status"),
    ], id=names["box"], className="evidence-box")


def pairs(compare: dict[str, list[dict]], lang: str) -> list:
    """The three columns of thumbnails (each links to the full photo)."""
    columns = []
    for key, title in COLUMNS:
        photos = compare.get(key) or []
        if key == "check" and not photos:
            continue   # the verification's own photos: shown once there are some
        items = [html.A(html.Img(src=p["thumb_url"], alt=p.get("name") or p["sha256"][:12], className="evidence-thumb"),
                        href=p["url"], target="_blank", rel="noopener", className="evidence-link",
                        **{"data-sha": p["sha256"]}) for p in photos]
        columns.append(html.Div([html.H5(t(title, lang)),
                                 *(items or [html.P(t("evidence.none_yet", lang), className="muted small")])],
                                className=f"evidence-col evidence-{key}"))
    return columns
