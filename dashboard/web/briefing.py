"""``/briefing/pdf?date=YYYY-MM-DD&lang=zh``: the briefing's PDF for the page's download
link — from the archive when the day is archived, otherwise made (and archived once the
day is over).  A sub-centre's user gets its own area's briefing (the scope is the
server's, from the login — never from the URL).  Roles as the page (leader, supervisor, admin); answers are one-line texts
for people, never a traceback."""
from __future__ import annotations

from flask import Blueprint, Response, current_app, request
from flask_login import current_user

from dashboard.domain.briefing import BriefingDateError
from dashboard.domain.permissions import PAGE_ROLES, may_open

blueprint = Blueprint("citygrid_briefing", __name__)
ROLES = PAGE_ROLES["/briefing"]


def _text(status: int, message: str) -> Response:
    return Response(message + "\n", status=status, mimetype="text/plain; charset=utf-8")


@blueprint.route("/briefing/pdf")
def briefing_pdf():
    from datasource.services.briefing_archive import NoData, file_name
    from datasource.tools.chart_images import ChartError
    user = current_user if getattr(current_user, "is_authenticated", False) else None
    if user is None:
        return _text(401, "log in first")
    if not may_open(user.role, ROLES):
        return _text(403, f"role {user.role} may not read the briefing")
    briefings = current_app.extensions["citygrid.services"].briefing
    lang = request.args.get("lang") if request.args.get("lang") in ("zh", "en") else briefings.system.settings.lang
    try:
        day = briefings.service.resolve(request.args.get("date"))
        pdf = briefings.ensure_pdf(day, lang, scope=getattr(user, "scope", None))
    except BriefingDateError as exc:
        return _text(400, str(exc))
    except NoData as exc:
        return _text(404, str(exc))
    except ChartError as exc:
        return _text(503, str(exc))
    response = Response(pdf.content, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="{file_name(day, lang, getattr(user, "scope", None))}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


def init_app(server) -> None:
    server.register_blueprint(blueprint)
