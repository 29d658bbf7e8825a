"""Page layouts: one module per page, each with ``PATH``, ``TITLE`` (an i18n key),
``ROLES`` (None = anyone, even logged out) and ``layout(lang, query, services)``.

The shell's router (``callbacks/shell.py``) looks pages up here.
"""
from __future__ import annotations


def pages() -> dict:
    """path → page module."""
    from layouts import admin, briefing, department, department_report, departments, dispatch, home, intake, login, wall
    from layouts import components, inspectors, regions, visits
    return {module.PATH: module for module in (home, login, wall, dispatch, intake, department, admin, departments,
                                               department_report, regions, inspectors, briefing, components, visits)}


def find(registry: dict, path: str) -> tuple:
    """(page module, path parameters) for ``path``: an exact ``PATH``, else a ``PATH`` with
    ``<name>`` segments (``/departments/<code>``); (None, {}) when nothing matches."""
    path = path.rstrip("/") or "/"
    page = registry.get(path)
    if page is not None:
        return page, {}
    parts = path.split("/")
    for pattern, module in registry.items():
        names = pattern.split("/")
        if "<" in pattern and len(names) == len(parts) and all(
                n == p or (n.startswith("<") and p) for n, p in zip(names, parts)):
            return module, {n[1:-1]: p for n, p in zip(names, parts) if n.startswith("<")}
    return None, {}
