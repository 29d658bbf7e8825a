"""Sub-centres: the part of the district a user works on (its *scope*).

The field works on three levels: the district centre, street sub-centres (街道分中心) and
community stations (社区工作站).  A user's scope is

- ``None`` — the district centre: everything;
- a 9-digit street code — that street's communities and grids;
- a 12-digit community code — that community's grids.

Codes nest (a grid code starts with its community code, which starts with its street code),
so one rule decides every question: a case, grid, community or street is covered when its
code lies inside the scope.  This module is the rule, once; the services apply it on the
server (SQL filters on ``street_code`` / ``community_code``) and the commands refuse what
lies outside.
"""
from __future__ import annotations

from dashboard.domain.codes import is_community_code, is_street_code


class ScopeError(ValueError):
    """A scope that is no street or community code (one line)."""


def validate(scope: str | None, streets=None, communities=None) -> str | None:
    """``scope`` cleaned (``""``/``None`` → ``None``); ScopeError when it is not a street or
    community code, or (when the known ``streets``/``communities`` are given) an unknown one."""
    if scope is None:
        return None
    scope = str(scope).strip()
    if not scope:
        return None
    if is_street_code(scope):
        if streets is not None and scope not in streets:
            raise ScopeError(f"unknown street {scope!r}")
        return scope
    if is_community_code(scope):
        if communities is not None and scope not in communities:
            raise ScopeError(f"unknown community {scope!r}")
        return scope
    raise ScopeError(f"a scope is a 9-digit street or 12-digit community code, not {scope[:20]!r}")


def level(scope: str | None) -> str:
    """``district``, ``street`` or ``community``."""
    if not scope:
        return "district"
    return "street" if len(scope) == 9 else "community"


def covers(scope: str | None, street_code: str | None = None, community_code: str | None = None) -> bool:
    """Whether a place (its street and/or community code) lies inside ``scope``.

    The district (``None``) covers everything; a street covers its own street; a community
    covers its own community only (a place known only by its street is not covered by a
    community scope)."""
    if not scope:
        return True
    if len(scope) == 9:
        street = street_code or (community_code[:9] if community_code else None)
        return street == scope
    return bool(community_code) and community_code == scope


def covers_code(scope: str | None, code: str | None) -> bool:
    """Whether a street, community or grid ``code`` lies inside ``scope`` (prefix rule).

    A street code is inside a community scope only if equal — never, since lengths differ."""
    if not scope:
        return True
    return bool(code) and len(code) >= len(scope) and code.startswith(scope)


def street_of_scope(scope: str | None) -> str | None:
    """The street a scope lies in (None for the district)."""
    return scope[:9] if scope else None


def may_read_case(role: str | None, department: str | None, scope: str | None, case_department: str | None,
                  street_code: str | None, community_code: str | None) -> bool:
    """Whether a user may read one case — the rule every read door asks (API, pages).

    A department user reads the cases dispatched to its own department only (the same cases
    its queue lists); a sub-centre user (``scope``) the cases of its area only; every other
    role that may read cases at all reads every case (which roles may read is
    :data:`dashboard.domain.permissions.READ_ACCESS`)."""
    if role == "department" and (not department or case_department != department):
        return False
    return covers(scope, street_code, community_code)
