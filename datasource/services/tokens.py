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

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import insert, select, update

from datasource.services.accounts import AccountError, User, _user, find_user
from datasource.store import schema

#: ``90d``, ``12h``, ``30m``, ``2w``: the units ``citygrid tokens create --expires`` takes.
UNITS = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}
MAX_LIFE = timedelta(days=3650)
#: ``last_used_at`` is written at most this often per token (a wall asks every second).
TOUCH_EVERY = timedelta(seconds=60)


class TokenError(AccountError):
    """A token-management mistake (unknown id, bad duration …), one line."""


@dataclass(frozen=True)
class Issued:
    """A token just issued: ``token`` is the secret, shown this once."""
    id: int
    token: str
    user: str
    expires_at: datetime | None


@dataclass(frozen=True)
class Found:
    """The user a valid token belongs to, and the token's row id."""
    user: User
    token_id: int


def _now() -> datetime:
    return datetime.now(timezone.utc)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


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


def create(engine, name: str, expires: timedelta | None = None, label: str | None = None,
           replace: bool = False, expires_at: datetime | None = None) -> Issued:
    """Issue a token for user ``name``; ``replace`` revokes the user's other tokens in the same
    transaction.  ``expires_at`` (an instant) wins over ``expires`` (a life from now)."""
    user = find_user(engine, name)
    if user is None:
        raise TokenError(f"no user {name!r}; create it with: citygrid users add {name} --role ROLE")
    label = (label or "").strip() or None
    if label and len(label) > 64:
        raise TokenError("a token label is at most 64 characters")
    now = _now()
    if expires_at is None and expires is not None:
        expires_at = now + expires
    token = secrets.token_urlsafe(32)
    with engine.begin() as c:
        if replace:
            c.execute(update(schema.api_tokens).where(schema.api_tokens.c.user_id == user.id,
                                                      schema.api_tokens.c.revoked_at.is_(None))
                      .values(revoked_at=now))
        token_id = c.execute(insert(schema.api_tokens).values(
            user_id=user.id, token_hash=hash_token(token), created_at=now, label=label,
            expires_at=expires_at)).inserted_primary_key[0]
    return Issued(int(token_id), token, user.name, expires_at)


def _refusal(row, now: datetime) -> str | None:
    """Why a token row (joined with its user) no longer opens anything, or None."""
    if row.revoked_at is not None:
        return "token_revoked"
    if row.expires_at is not None and row.expires_at <= now:
        return "token_expired"
    if not row.active:
        return "disabled"
    return None


def _rows():
    t, u = schema.api_tokens, schema.users
    return (select(u, t.c.id.label("token_id"), t.c.revoked_at, t.c.expires_at, t.c.last_used_at)
            .join(t, t.c.user_id == u.c.id))


def inspect(engine, token: str | None) -> tuple[Found | None, str | None]:
    """(the user and token id, None) if ``token`` is valid now, else (None, why): ``unknown``,
    ``token_revoked``, ``token_expired`` or ``disabled``."""
    if not token or len(token) > 200:
        return None, "unknown"
    now = _now()
    with engine.connect() as c:
        row = c.execute(_rows().where(schema.api_tokens.c.token_hash == hash_token(token))).first()
    if row is None:
        return None, "unknown"
    reason = _refusal(row, now)
    if reason:
        return None, reason
    if row.last_used_at is None or now - row.last_used_at > TOUCH_EVERY:
        with engine.begin() as c:
            c.execute(update(schema.api_tokens).where(schema.api_tokens.c.id == row.token_id)
                      .values(last_used_at=now))
    return Found(_user(row), int(row.token_id)), None


def check(engine, token: str | None) -> Found | None:
    """The user and token id if ``token`` is valid now, else None (unknown, revoked, expired,
    or its user disabled — an API caller gets 401 either way, without being told which)."""
    return inspect(engine, token)[0]


def refusal(engine, token_id: int) -> str | None:
    """Why the session opened with token ``token_id`` must end now (``token_revoked``,
    ``token_expired``, ``disabled``, ``token_unknown``), or None while it is valid."""
    with engine.connect() as c:
        row = c.execute(_rows().where(schema.api_tokens.c.id == int(token_id))).first()
    return "token_unknown" if row is None else _refusal(row, _now())


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


def revoke(engine, token_id: int) -> dict:
    """Revoke one token; its row (with ``revoked_at``).  TokenError if unknown or already revoked."""
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
    return next(r for r in list_tokens(engine) if r["id"] == token_id)


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
