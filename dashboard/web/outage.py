"""What the web answers while a service is down (issue 15's drills): Redis or the database
unreachable is a 503 with one sentence in the page's language — JSON for the API and for
Dash's callbacks, a short page otherwise — never a 500 with a traceback in the log.

A command that failed this way was not confirmed; the checked append (a version per case)
refuses a repeated command on a case that did go through, so trying again is safe.
"""
from __future__ import annotations

import logging

import redis
from flask import jsonify, request
from sqlalchemy.exc import OperationalError

from dashboard.i18n import t
from dashboard.web.api_access import request_lang

log = logging.getLogger("citygrid.outage")
RETRY_AFTER = "5"


def _answer(key: str, exc: Exception):
    log.error("%s: %s %s: %s", key, request.method, request.path[:200], str(exc).splitlines()[0][:200] if str(exc) else
              type(exc).__name__)
    lang = request_lang()
    message = t(key, lang)
    if request.path.startswith(("/api/", "/_dash-")) or request.is_json:
        response = jsonify({"error": "unavailable", "status": 503, "message": message})
        response.status_code = 503
        response.headers["Retry-After"] = RETRY_AFTER
        return response
    html = (f"<!doctype html><html lang='{lang}'><head><meta charset='utf-8'><title>503</title>"
            f"<link rel='stylesheet' href='/assets/base.css'></head><body><main class='notice' id='unavailable'>"
            f"<h1>503</h1><p>{message}</p></main></body></html>")
    return html, 503, {"Content-Type": "text/html; charset=utf-8", "Retry-After": RETRY_AFTER}


def redis_down(exc: Exception):
    return _answer("outage.redis_down", exc)


def database_down(exc: Exception):
    return _answer("outage.database_down", exc)


def init_app(server) -> None:
    """503 for Redis' and the database's connection failures, on every route."""
    server.register_error_handler(redis.ConnectionError, redis_down)
    server.register_error_handler(redis.TimeoutError, redis_down)
    server.register_error_handler(OperationalError, database_down)
