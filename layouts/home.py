"""Landing page: what the product is and links to every page."""
from __future__ import annotations

from dash import html

from dashboard.i18n import t
from dashboard.domain.permissions import PAGE_ROLES

PATH = "/"
TITLE = "nav.home"
ROLES = PAGE_ROLES[PATH]

CARDS = (("/wall", "nav.wall", "home.wall.desc"), ("/dispatch", "nav.dispatch", "home.dispatch.desc"),
         ("/intake", "nav.intake", "home.intake.desc"), ("/department", "nav.department", "home.department.desc"),
         ("/departments", "nav.departments", "home.departments.desc"),
         ("/briefing", "nav.briefing", "home.briefing.desc"))


def layout(lang: str, query: dict, services) -> html.Div:
    return html.Div([
        html.H1(t("app.title", lang)),
        html.P(t("city.app.subtitle", lang, district=services.scenario.district_name(lang)), className="lead"),
        html.H2(t("home.pages", lang)),
        html.Div([html.A([html.H3(t(title, lang)), html.P(t(desc, lang))], href=f"{path}?lang={lang}", className="card")
                  for path, title, desc in CARDS], className="cards", id="home-cards"),
        html.P(html.A(t("home.api", lang), href="/api/v1/openapi.json")),
    ], className="home")
