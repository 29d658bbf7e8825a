"""A real 404 for unknown pages.

Dash serves every path through its catch-all route (``/<path:path>``) and would answer 200
with a page saying 页面不存在.  Before that, this hook asks the page registry (the paths of
:data:`dashboard.domain.permissions.PAGE_ROLES`, and ``/departments/<code>`` patterns) whether
the path is a page; if not, the answer is a small page in the asked language (``?lang=``,
else the configured one) with a link home, and status 404.  Dash's own routes, the API,
the assets and the log-in form have their own endpoints and are not touched.
"""
from __future__ import annotations

from html import escape

from flask import request

from dashboard.i18n import LANGS, t

DASH_CATCH_ALL = "/<path:path>"
PAGE = """<!DOCTYPE html>
<html lang="{html_lang}"><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{background:#0b1220;color:#dbe4f3;font-family:system-ui,"Noto Sans CJK SC",sans-serif;margin:0;
display:flex;align-items:center;justify-content:center;min-height:100vh}}main{{text-align:center}}
h1{{font-size:28px;margin:0 0 12px}}p{{color:#8fa3c0}}a{{color:#3ea6ff;font-size:16px}}</style></head>
<body><main id="not-found"><h1>404 · {title}</h1><p>{text}</p><p><a id="not-found-home" href="/?lang={lang}">{home}</a></p>
<p><a href="{other_href}">{other}</a></p></main></body></html>"""


def page(path: str, lang: str) -> str:
    """The 404 page for ``path`` in ``lang`` (the path shown as text, never as HTML)."""
    other = "en" if lang == "zh" else "zh"
    return PAGE.format(html_lang="en" if lang == "en" else "zh-CN", lang=lang, title=t("notfound.title", lang),
                       text=escape(t("notfound.text", lang, path=path[:200])), home=t("notfound.home", lang),
                       other=t("nav.lang", lang), other_href=escape(f"{path[:200]}?lang={other}"))


def init_app(server, settings) -> None:
    """Answer 404 for paths no page serves (``server`` must hold the Dash app's routes)."""
    from layouts import find, pages
    registry = pages()

    @server.before_request
    def unknown_page():
        if request.endpoint != DASH_CATCH_ALL or request.method not in ("GET", "HEAD"):
            return None
        page_module, _ = find(registry, request.path)
        if page_module is not None:
            return None
        asked = request.args.get("lang")
        lang = asked if asked in LANGS else settings.lang
        return page(request.path, lang), 404, {"Content-Type": "text/html; charset=utf-8"}
