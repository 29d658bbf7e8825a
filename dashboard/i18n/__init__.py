"""The one i18n layer: every string a page shows comes through :func:`t`.

Catalogues live beside this file, one module per page (``common``, ``wall``, ``dispatch`` …),
each a dict ``key → (中文, English)`` — or ``(中文, English, English singular)`` for a text
with a count ``n`` that English says differently when ``n`` is 1 ("1 working hour").
Chinese is the default; a missing key shows the key itself (and ``tests/test_i18n.py``
fails on it), never an empty label.
"""
from __future__ import annotations

import importlib
import pkgutil

LANGS = ("zh", "en")
DEFAULT_LANG = "zh"


def _load() -> dict[str, tuple[str, ...]]:
    catalogue: dict[str, tuple[str, ...]] = {}
    for module in pkgutil.iter_modules(__path__):
        strings = importlib.import_module(f"{__name__}.{module.name}").STRINGS
        duplicate = set(strings) & set(catalogue)
        if duplicate:
            raise RuntimeError(f"i18n keys defined twice: {sorted(duplicate)}")
        catalogue.update(strings)
    return catalogue


CATALOGUE = _load()


def t(key: str, lang: str = DEFAULT_LANG, **values) -> str:
    """The text of ``key`` in ``lang`` (``zh`` or ``en``), formatted with ``values``."""
    pair = CATALOGUE.get(key)
    if pair is None:
        return key
    text = pair[1] if lang == "en" else pair[0]
    if lang == "en" and len(pair) > 2 and str(values.get("n")) in ("1", "1.0"):
        text = pair[2]
    return text.format(**values) if values else text


def lang_of(search: str | None, default: str = DEFAULT_LANG) -> str:
    """The language asked for in a query string (``?lang=en``), else ``default``."""
    from urllib.parse import parse_qs
    value = parse_qs((search or "").lstrip("?")).get("lang", [default])[0]
    return value if value in LANGS else default
