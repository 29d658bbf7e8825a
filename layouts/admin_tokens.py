"""The token section of the administration page (系统管理 → API 与大屏令牌): every API and
display token — never its secret, which is shown once by ``citygrid tokens create`` — with
its user, label, issue/expiry/last-use times and state, and a button to revoke it.

A section, not a page: :mod:`layouts.admin` places :func:`section`; its callbacks are in
:mod:`callbacks.admin_tokens`.  The table is drawn by the callback (a layout reads no
database)."""
from __future__ import annotations

from enum import Enum

from dash import dcc, html

from dashboard.i18n import t

COLUMNS = (("id", "sec.tokens.id"), ("user", "sec.tokens.user"), ("role", "sec.tokens.role"),
           ("label", "sec.tokens.label"), ("created_at", "sec.tokens.created"), ("expires_at", "sec.tokens.expires"),
           ("last_used_at", "sec.tokens.last_used"), ("state", "sec.tokens.state"))


class TokenIds(str, Enum):
    LANG = "admin-tokens-lang"
    TICK = "admin-tokens-tick"
    TABLE = "admin-tokens-table"
    MESSAGE = "admin-tokens-message"
    DONE = "admin-tokens-done"        # a revocation's time: redraws the table at once
    REVOKE = "admin-token-revoke"     # pattern-matching type of the row buttons: {"type": REVOKE, "token": id}


def revoke_button(token_id: int, lang: str) -> html.Button:
    return html.Button(t("sec.tokens.revoke", lang), id={"type": TokenIds.REVOKE.value, "token": int(token_id)},
                       className="button-small danger", n_clicks=0)


def table(rows: list[dict], lang: str, when) -> html.Div:
    """The tokens as a table (every value as text); ``when`` formats a time."""
    if not rows:
        return html.P(t("sec.tokens.none", lang), className="muted small")
    body = []
    for r in rows:
        cells = {**r, "created_at": when(r["created_at"]), "last_used_at": when(r["last_used_at"]) or "—",
                 "expires_at": when(r["expires_at"]) if r["expires_at"] else t("sec.tokens.never", lang),
                 "state": t(f"sec.tokens.state.{r['state']}", lang)}
        action = revoke_button(r["id"], lang) if r["state"] in ("active", "disabled") else None
        body.append(html.Tr([html.Td(str(cells.get(c) or "")) for c, _ in COLUMNS] + [html.Td(action)],
                            className=f"token-{r['state']}", id=f"token-row-{r['id']}"))
    head = html.Thead(html.Tr([html.Th(t(k, lang)) for _, k in COLUMNS] + [html.Th("")]))
    return html.Table([head, html.Tbody(body)], className="audit-table token-table")


def section(lang: str) -> html.Section:
    """The section's frame; :mod:`callbacks.admin_tokens` fills the table."""
    return html.Section([
        dcc.Store(id=TokenIds.LANG.value, data=lang),
        dcc.Store(id=TokenIds.DONE.value),
        dcc.Interval(id=TokenIds.TICK.value, interval=15000),
        html.H2(t("sec.tokens.title", lang)),
        html.P(t("sec.tokens.hint", lang), className="muted small"),
        html.Div(id=TokenIds.MESSAGE.value),
        html.Div(id=TokenIds.TABLE.value),
    ], className="admin-tokens", id="admin-tokens")
