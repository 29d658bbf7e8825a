"""Page layouts: one module per page, each with ``PATH``, ``TITLE`` (an i18n key),
``ROLES`` (None = anyone, even logged out) and ``layout(lang, query, services)``.

The shell's router (``callbacks/shell.py``) looks pages up here.
"""
from __future__ import annotations

import importlib

PAGE_MODULES = ("home", "login", "wall", "dispatch", "intake", "department", "admin")


def pages() -> dict:
    """path → page module, for the pages whose module exists."""
    found = {}
    for name in PAGE_MODULES:
        try:
            module = importlib.import_module(f"layouts.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"layouts.{name}":
                raise
            continue
        found[module.PATH] = module
    return found
