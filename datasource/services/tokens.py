"""API and display tokens: issued once, stored hashed, listed, expired and revoked.

A token is a random 32-byte string shown once when it is issued; only its SHA-256 is kept
(``api_tokens.token_hash``), so neither the database nor the admin page can show it again.
A token works while its user is active, it is not revoked and its ``expires_at`` (if any)
has not passed.  Every door asks :func:`check` (API bearer tokens, a wall's ``?token=``)
or :func:`refusal` (a wall session opened with a token, on each of its requests), so a
revocation takes effect on the next request.

Times are the real time (UTC), never the simulation clock: a token's life is a security
fact, not part of the case story.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from sqlalchemy import select, update

from datasource.services import audit
from datasource.services.accounts import (AccountError, Found, Issued, _token_rows, find_user, hash_token,
                                          inspect_token, issue_token, token_refusal)
from datasource.store import schema

#: ``90d``, ``12h``, ``30m``, ``2w``: the units ``citygrid tokens create --expires`` takes.
UNITS = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}
MAX_LIFE = timedelta(days=3650)


class TokenError(AccountError):
    """A token-management mistake (unknown id, bad duration …), one line."""


def _now() -> datetime:
    return datetime.now(timezone.utc)


def parse_duration(text: str | None) -> timedelta | None:
    """``"90d"`` → 90 days; None or ``"never"`` → None; TokenError for anything else."""
    if text is None or text.strip().lower() in ("", "never"):
        return None
    match = re.fullmatch(r"\s*(\d{1,6})\s*([mhdw])\s*", text.lower())
    if not match or int(match[1]) == 0:
        raise TokenError(f"--expires takes a positive number and a unit m, h, d or w (like 90d), not {text!r}")
    life = int(match[1]) * UNITS[match[2]]
    if life > MAX_LIFE:
        raise TokenError(f"--expires is at most {MAX_LIFE.days} days")
    return life


#: The door of each check (the web app's names): see :mod:`datasource.services.accounts`.
create, inspect = issue_token, inspect_token
__all__ = ["Found", "Issued", "create", "inspect", "check", "hash_token", "refusal", "list_tokens", "revoke",
           "revoke_user", "parse_duration", "TokenError"]


def check(engine, token: str | None) -> Found | None:
    """The user and token id if ``token`` is valid now, else None (unknown, revoked, expired,
    or its user disabled — an API caller gets 401 either way, without being told which)."""
    return inspect_token(engine, token)[0]


def refusal(engine, token_id: int) -> str | None:
    """Why the session opened with token ``token_id`` must end now (``token_revoked``,
    ``token_expired``, ``disabled``, ``token_unknown``), or None while it is valid."""
    with engine.connect() as c:
        row = c.execute(_token_rows().where(schema.api_tokens.c.id == int(token_id))).first()
    return "token_unknown" if row is None else token_refusal(row, _now())


def list_tokens(engine, user: str | None = None) -> list[dict]:
    """Every token (never its secret), newest first, with its ``state``: active, expired,
    revoked or disabled (its user is)."""
    t, u = schema.api_tokens, schema.users
    statement = (select(t.c.id, u.c.name.label("user"), u.c.role, u.c.active, t.c.label, t.c.created_at,
                        t.c.expires_at, t.c.last_used_at, t.c.revoked_at)
                 .join(u, u.c.id == t.c.user_id).order_by(t.c.id.desc()))
    if user:
        statement = statement.where(u.c.name == user)
    now = _now()
    with engine.connect() as c:
        rows = [dict(r) for r in c.execute(statement).mappings()]
    for r in rows:
        r["state"] = ("revoked" if r["revoked_at"] else "expired" if r["expires_at"] and r["expires_at"] <= now
                      else "disabled" if not r.pop("active") else "active")
        r.pop("active", None)
    return rows


def revoke(engine, token_id: int, by: str = "cli", role: str | None = None, remote_addr: str | None = None) -> dict:
    """Revoke one token; its row (with ``revoked_at``), and an audit row (``token_revoked``)
    naming who did it.  TokenError if unknown or already revoked."""
    try:
        token_id = int(token_id)
    except (TypeError, ValueError):
        raise TokenError(f"a token id is a number, not {token_id!r}") from None
    with engine.begin() as c:
        row = c.execute(select(schema.api_tokens).where(schema.api_tokens.c.id == token_id)).first()
        if row is None:
            raise TokenError(f"no token {token_id}; see: citygrid tokens list")
        if row.revoked_at is not None:
            raise TokenError(f"token {token_id} is already revoked")
        c.execute(update(schema.api_tokens).where(schema.api_tokens.c.id == token_id).values(revoked_at=_now()))
    row = next(r for r in list_tokens(engine) if r["id"] == token_id)
    audit.record(engine, user=by, role=role, action="token_revoked", outcome="ok", remote_addr=remote_addr,
                 message=f"token {token_id} of {row['user']}" + (f" ({row['label']})" if row["label"] else ""))
    return row


def revoke_user(engine, name: str) -> int:
    """Revoke every live token of user ``name``; how many."""
    user = find_user(engine, name)
    if user is None:
        raise TokenError(f"no user {name!r}")
    with engine.begin() as c:
        result = c.execute(update(schema.api_tokens).where(schema.api_tokens.c.user_id == user.id,
                                                           schema.api_tokens.c.revoked_at.is_(None))
                           .values(revoked_at=_now()))
    return int(result.rowcount or 0)
