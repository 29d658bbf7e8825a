"""Users, roles and API / display tokens in the reporting database.

Passwords are stored as salted hashes (werkzeug's scrypt/pbkdf2); tokens are random
32-byte strings of which only the SHA-256 is stored.
"""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone

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

    # flask-login's protocol
    is_authenticated = True
    is_active = True
    is_anonymous = False

    def get_id(self) -> str:
        return str(self.id)


def _user(row) -> User:
    return User(row.id, row.name, row.role, row.department_code, row.scope)


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


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


def create_token(engine, name: str) -> str:
    """A new bearer token for user ``name`` (shown once; only its hash is kept)."""
    user = find_user(engine, name)
    if user is None:
        raise AccountError(f"no user {name!r}; create it with: citygrid users add {name} --role ROLE")
    token = secrets.token_urlsafe(32)
    with engine.begin() as c:
        c.execute(insert(schema.api_tokens).values(user_id=user.id, token_hash=_hash_token(token),
                                                   created_at=datetime.now(timezone.utc)))
    return token


def user_for_token(engine, token: str | None) -> User | None:
    if not token or len(token) > 200:
        return None
    digest = _hash_token(token)
    with engine.begin() as c:
        row = c.execute(select(schema.users).join(schema.api_tokens, schema.api_tokens.c.user_id == schema.users.c.id)
                        .where(schema.api_tokens.c.token_hash == digest, schema.users.c.active)).first()
        if row is None:
            return None
        c.execute(update(schema.api_tokens).where(schema.api_tokens.c.token_hash == digest)
                  .values(last_used_at=datetime.now(timezone.utc)))
    return _user(row)


def list_users(engine) -> list[dict]:
    with engine.connect() as c:
        return [dict(r) for r in c.execute(select(schema.users.c.id, schema.users.c.name, schema.users.c.role,
                                                  schema.users.c.department_code, schema.users.c.scope,
                                                  schema.users.c.active)
                                           .order_by(schema.users.c.id)).mappings()]
