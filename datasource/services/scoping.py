"""The sub-centre rule (:mod:`dashboard.domain.scope`) as SQL: one filter for every service.

``where_scope(table, scope)`` is the condition that keeps a table's rows inside ``scope``
(a street or community code; None = the whole district → no condition), on the table's
``street_code`` / ``community_code`` columns, or on ``grid_code`` (a grid code starts with its
community and street codes) when the table has no such column.
"""
from __future__ import annotations

from dashboard.domain.scope import level


def where_scope(table, scope: str | None):
    """A SQLAlchemy condition, or None when ``scope`` is the district."""
    kind = level(scope)
    if kind == "district":
        return None
    column = "street_code" if kind == "street" else "community_code"
    if column in table.c:
        return table.c[column] == scope
    if "grid_code" in table.c:
        return table.c.grid_code.like(scope + "%")
    raise ValueError(f"table {table.name} has no place column to scope by")


def scoped(statement, table, scope: str | None):
    """``statement`` restricted to ``scope`` (unchanged for the district)."""
    condition = where_scope(table, scope)
    return statement if condition is None else statement.where(condition)
