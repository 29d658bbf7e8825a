"""Users and roles in the reporting database, and the core of their tokens (issue, check);
listing, revoking and expiry rules for the CLI and /admin are in :mod:`datasource.services.tokens`.

Passwords are stored as salted hashes (werkzeug's scrypt/pbkdf2); tokens are random 32-byte
strings shown once, of which only the SHA-256 is stored.  Each user has a
``session_version``: a browser session remembers the version it was opened under, and
log-out, a password change and deactivation bump it, which ends every session of that
user at once (the web side checks it on every request, :mod:`dashboard.web.sessions`).
"""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from datasource.store import schema
from dashboard.domain.permissions import ROLES
from dashboard.domain.scope import ScopeError, validate as validate_scope



class AccountError(ValueError):
    """A user-management mistake (unknown role, duplicate name …), one line."""


@dataclass(frozen=True)
class User:
    id: int
    name: str
    role: str
    department_code: str | None = None
    scope: str | None = None   # sub-centre: street or community code; None = the whole district
    session_version: int = 0   # sessions opened under an older version have ended

    # flask-login's protocol
    is_authenticated = True
    is_active = True
    is_anonymous = False

    def get_id(self) -> str:
        return str(self.id)


def _user(row) -> User:
    return User(row.id, row.name, row.role, row.department_code, row.scope, int(row.session_version or 0))


def add_user(engine, name: str, role: str, password: str | None = None, department: str | None = None,
             departments: dict | None = None, scope: str | None = None, streets=None,
             communities=None) -> User:
    """Create a user; role ``department`` needs the department it works for.

    ``scope`` makes it a sub-centre user (a street or community code, checked against the
    known ``streets``/``communities`` when given); None is the whole district."""
    name = (name or "").strip()
    if not name or len(name) > 64:
        raise AccountError("a user name is 1 to 64 characters")
    if role not in ROLES:
        raise AccountError(f"unknown role {role!r}; roles are {', '.join(ROLES)}")
    if role == "department" and not department:
        raise AccountError("a department user needs --department CODE")
    if department and departments is not None and department not in departments:
        raise AccountError(f"unknown department {department!r}")
    if password is not None and len(password) < 8:
        raise AccountError("a password has at least 8 characters")
    try:
        scope = validate_scope(scope, streets, communities)
    except ScopeError as exc:
        raise AccountError(str(exc)) from None
    if scope and role in ("admin", "wall"):
        raise AccountError(f"a {role} user works for the whole district: no --scope")
    values = {"name": name, "role": role, "department_code": department, "scope": scope, "active": True,
              "password_hash": generate_password_hash(password) if password else None,
              "created_at": datetime.now(timezone.utc)}
    try:
        with engine.begin() as c:
            user_id = c.execute(insert(schema.users).values(**values)).inserted_primary_key[0]
    except IntegrityError:
        raise AccountError(f"user {name!r} already exists") from None
    return User(user_id, name, role, department, scope)


def get_user(engine, user_id: int | str) -> User | None:
    try:
        user_id = int(user_id)
    except (TypeError, ValueError):
        return None
    with engine.connect() as c:
        row = c.execute(select(schema.users).where(schema.users.c.id == user_id, schema.users.c.active)).first()
    return _user(row) if row else None


def find_user(engine, name: str) -> User | None:
    with engine.connect() as c:
        row = c.execute(select(schema.users).where(schema.users.c.name == name)).first()
    return _user(row) if row else None


def authenticate(engine, name: str, password: str) -> User | None:
    """The user if ``password`` is right, else None (same answer for unknown users)."""
    with engine.connect() as c:
        row = c.execute(select(schema.users).where(schema.users.c.name == (name or ""),
                                                   schema.users.c.active)).first()
    if row is None or not row.password_hash:
        check_password_hash(generate_password_hash("x"), password or "")  # even out timing
        return None
    return _user(row) if check_password_hash(row.password_hash, password or "") else None


#: ``last_used_at`` is written at most this often per token (a wall asks every second).
TOUCH_EVERY = timedelta(seconds=60)


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


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def issue_token(engine, name: str, expires: timedelta | None = None, label: str | None = None,
                replace: bool = False, expires_at: datetime | None = None) -> Issued:
    """Issue a token for user ``name``; ``replace`` revokes the user's other tokens in the same
    transaction.  ``expires_at`` (an instant) wins over ``expires`` (a life from now)."""
    user = find_user(engine, name)
    if user is None:
        raise AccountError(f"no user {name!r}; create it with: citygrid users add {name} --role ROLE")
    label = (label or "").strip() or None
    if label and len(label) > 64:
        raise AccountError("a token label is at most 64 characters")
    now = datetime.now(timezone.utc)
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


def token_refusal(row, now: datetime) -> str | None:
    """Why a token row (joined with its user) no longer opens anything, or None."""
    if row.revoked_at is not None:
        return "token_revoked"
    if row.expires_at is not None and row.expires_at <= now:
        return "token_expired"
    if not row.active:
        return "disabled"
    return None


def _token_rows():
    t, u = schema.api_tokens, schema.users
    return (select(u, t.c.id.label("token_id"), t.c.revoked_at, t.c.expires_at, t.c.last_used_at)
            .join(t, t.c.user_id == u.c.id))


def inspect_token(engine, token: str | None) -> tuple[Found | None, str | None]:
    """(the user and token id, None) if ``token`` is valid now, else (None, why): ``unknown``,
    ``token_revoked``, ``token_expired`` or ``disabled``."""
    if not token or len(token) > 200:
        return None, "unknown"
    now = datetime.now(timezone.utc)
    with engine.connect() as c:
        row = c.execute(_token_rows().where(schema.api_tokens.c.token_hash == hash_token(token))).first()
    if row is None:
        return None, "unknown"
    reason = token_refusal(row, now)
    if reason:
        return None, reason
    if row.last_used_at is None or now - row.last_used_at > TOUCH_EVERY:
        with engine.begin() as c:
            c.execute(update(schema.api_tokens).where(schema.api_tokens.c.id == row.token_id)
                      .values(last_used_at=now))
    return Found(_user(row), int(row.token_id)), None


def check_token(engine, token: str | None) -> Found | None:
    """The user and token id if ``token`` is valid now, else None (unknown, revoked, expired,
    or its user disabled — an API caller gets 401 either way, without being told which)."""
    return inspect_token(engine, token)[0]


def create_token(engine, name: str, **options) -> str:
    """A new bearer token for user ``name``, the secret itself (see :func:`issue_token`)."""
    return issue_token(engine, name, **options).token


def user_for_token(engine, token: str | None) -> User | None:
    """The active user of a valid (not revoked, not expired) token, else None."""
    found = check_token(engine, token)
    return found.user if found else None


def list_users(engine) -> list[dict]:
    with engine.connect() as c:
        return [dict(r) for r in c.execute(select(schema.users.c.id, schema.users.c.name, schema.users.c.role,
                                                  schema.users.c.department_code, schema.users.c.scope,
                                                  schema.users.c.active)
                                           .order_by(schema.users.c.id)).mappings()]


def _named(c, name: str):
    row = c.execute(select(schema.users.c.id, schema.users.c.active).where(schema.users.c.name == name)).first()
    if row is None:
        raise AccountError(f"no user {name!r}")
    return row


def end_sessions(engine, user_id: int) -> None:
    """End every browser session of the user (log-out ends them all, not only this one)."""
    with engine.begin() as c:
        c.execute(update(schema.users).where(schema.users.c.id == int(user_id))
                  .values(session_version=schema.users.c.session_version + 1))


def set_active(engine, name: str, active: bool) -> bool:
    """Enable or disable user ``name``; a disabled user's sessions end and its tokens are
    refused at once (they come back if it is enabled again, sessions do not).  Whether it
    changed anything."""
    with engine.begin() as c:
        row = _named(c, name)
        if bool(row.active) == active:
            return False
        c.execute(update(schema.users).where(schema.users.c.id == row.id)
                  .values(active=active, session_version=schema.users.c.session_version + 1))
    return True


def set_password(engine, name: str, password: str) -> None:
    """Change a password; every session of the user ends (they must log in again)."""
    if password is None or len(password) < 8:
        raise AccountError("a password has at least 8 characters")
    with engine.begin() as c:
        row = _named(c, name)
        c.execute(update(schema.users).where(schema.users.c.id == row.id)
                  .values(password_hash=generate_password_hash(password),
                          session_version=schema.users.c.session_version + 1))
