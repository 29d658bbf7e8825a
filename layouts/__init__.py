"""Page layouts: one module per page, each with ``PATH``, ``TITLE`` (an i18n key),
``ROLES`` (None = anyone, even logged out) and ``layout(lang, query, services)``.

The shell's router (``callbacks/shell.py``) looks pages up here.
"""
from __future__ import annotations


def pages() -> dict:
    """path → page module."""
    from layouts import admin, briefing, department, dispatch, home, intake, login, wall
    return {module.PATH: module for module in (home, login, wall, dispatch, intake, department, admin, briefing)}
