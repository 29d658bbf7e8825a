"""Callbacks of the daily briefing: a date → the service's briefing → the page, the PDF
link and the archive.  The role is checked on the server (the briefing carries case data);
so is the area: a sub-centre's user sees its own street's or community's briefing."""
from __future__ import annotations

from dash import Input, Output, State
from dash.exceptions import PreventUpdate

from callbacks.common import allowed, user_scope
from dashboard.domain.briefing import BriefingDateError
from dashboard.i18n import t
from datasource.services.briefing import Names
from datasource.services.briefing_figures import charts, unusual_map
from datasource.services.briefing_view import view
from layouts.briefing import ROLES, Ids, archive, content, message, pdf_href


def register(app, services) -> None:
    scenario = services.scenario
    tz = scenario.calendar.tz

    @app.callback(Output(Ids.CONTENT.value, "children"), Output(Ids.PDF.value, "href"),
                  Output(Ids.ARCHIVE.value, "children"),
                  Input(Ids.DATE.value, "date"), State(Ids.ASKED.value, "data"), State(Ids.LANG.value, "data"))
    def show(day_text, asked, lang):
        """The briefing of the picked date (or of the date the URL asked for)."""
        if not allowed(ROLES):
            raise PreventUpdate
        scope = user_scope()
        briefings = services.briefing
        past = archive(briefings.entries(scope=scope), lang, tz)
        try:
            day = briefings.service.resolve(day_text or asked)
        except BriefingDateError as exc:
            reason = t(exc.key, lang, **exc.values)
            return message(t("briefing.bad_date", lang, reason=reason)), pdf_href("", lang), past
        data = briefings.service.build(day, scope=scope)
        v = view(data, scenario, lang)
        if data.get("empty"):
            return content(v, {}, None), pdf_href(day.isoformat(), lang), past
        names = Names(scenario, lang)
        return (content(v, charts(data, names, lang), unusual_map(data, scenario, names, lang)),
                pdf_href(day.isoformat(), lang), past)
