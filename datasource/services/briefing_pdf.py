"""The briefing as an A4 PDF: HTML + CSS rendered by WeasyPrint, CJK fonts from
fontconfig (Noto Sans CJK, embedded as subsets), charts as PNG from kaleido, the map as
SVG.  Every text comes from :func:`datasource.services.briefing_view.view` and goes
through Jinja2's autoescape; the renderer fetches nothing but ``data:`` URLs."""
from __future__ import annotations

import base64

from jinja2 import Environment
from markupsafe import Markup

from dashboard.i18n import t
from datasource.services.briefing import Names
from datasource.services.briefing_figures import charts, unusual_map
from datasource.services.briefing_view import view

CSS = """
@page { size: A4; margin: 14mm 13mm 16mm 13mm;
        @bottom-left { content: "{{ footer }}"; font-size: 7.5pt; color: #7a8699; }
        @bottom-right { content: counter(page) " / " counter(pages); font-size: 7.5pt; color: #7a8699; } }
html { font-family: "Noto Sans CJK SC", "Noto Sans SC", sans-serif; font-size: 9.5pt; color: #1d2a3f; line-height: 1.55; }
h1 { font-size: 17pt; margin: 0; letter-spacing: .5pt; }
h2 { font-size: 12pt; margin: 14pt 0 5pt; padding-bottom: 2pt; border-bottom: 1.2pt solid #1f5fa8; color: #12386b;
     break-after: avoid; }
h3 { font-size: 10pt; margin: 8pt 0 3pt; break-after: avoid; }
.sub { color: #51627a; font-size: 9pt; margin: 2pt 0 0; }
.partial { color: #b3261e; font-size: 9pt; }
.cards { display: grid; grid-template-columns: repeat(4, 1fr); gap: 4pt; margin: 10pt 0 4pt; }
.card { border: 0.6pt solid #c9d3e1; border-radius: 3pt; padding: 4pt 6pt; }
.card .label { font-size: 8pt; color: #51627a; }
.card .value { font-size: 15pt; font-weight: 700; line-height: 1.2; }
.card .chg { font-size: 7.5pt; color: #51627a; display: flex; justify-content: space-between; }
.up, .down { color: #1d2a3f; } .better { color: #2e7d32; } .worse { color: #c62828; }
.note { font-size: 7.5pt; color: #7a8699; }
.narrative p { margin: 0 0 4pt; }
img.chart { display: block; width: 100%; break-inside: avoid; margin: 2pt 0; }   /* blocks: inline images would share a line box (orphans) */
.unusual { break-inside: avoid; }   /* heading, method and map stay together (they fit on a page) */
img.map { width: 100%; border: 0.6pt solid #c9d3e1; }
.mapbox { display: flex; gap: 5mm; align-items: flex-start; } .mapcol { width: 64mm; flex: none; } .listcol { flex: 1; }
ul.clusters { margin: 2pt 0; padding-left: 12pt; font-size: 8.2pt; }
table { width: 100%; border-collapse: collapse; font-size: 8.2pt; margin: 3pt 0 6pt; }
th { background: #eef2f7; text-align: left; font-weight: 700; padding: 2pt 4pt; border-bottom: 0.8pt solid #9fb0c8; }
td { padding: 2pt 4pt; border-bottom: 0.4pt solid #dde4ee; vertical-align: top; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tr { break-inside: avoid; }
.mono { font-family: "DejaVu Sans Mono", monospace; font-size: 7.8pt; }
.method { font-size: 8.2pt; color: #34445c; background: #f6f8fb; padding: 4pt 6pt; border-left: 2pt solid #1f5fa8; }
.two { display: flex; gap: 8mm; } .two > div { flex: 1; }
.outcome-open_overdue { color: #c62828; font-weight: 700; } .outcome-closed { color: #2e7d32; }
.keep { break-inside: avoid; }
.empty { font-size: 11pt; margin-top: 20pt; }
"""

TEMPLATE = """<!DOCTYPE html>
<html lang="{{ 'zh-CN' if v.lang == 'zh' else 'en' }}"><head><meta charset="utf-8">
<title>{{ v.title }} · {{ v.day }}</title><style>{{ css }}</style></head><body>
<h1>{{ v.title }}</h1>
<p class="sub">{{ v.day_label }} · {{ v.as_of }}</p>
{% if v.scope_note %}<p class="sub">{{ v.scope_note }}</p>{% endif %}
{% if v.partial %}<p class="partial">{{ v.partial }}</p>{% endif %}
{% if v.empty %}
  {% for p in v.narrative %}<p class="empty">{{ p }}</p>{% endfor %}
{% else %}
<div class="cards">{% for c in v.cards %}
  <div class="card"><div class="label">{{ c.label }}</div><div class="value">{{ c.value }}</div>
  {% for ch in c.changes %}<div class="chg"><span>{{ ch.label }}</span><span class="{{ ch.direction }}">{{ ch.badge }}</span></div>{% endfor %}
  </div>{% endfor %}
</div>
<p class="note">{{ tr('briefing.h.note') }}</p>
<h2>{{ tr('briefing.section.summary') }}</h2>
<div class="narrative">{% for p in v.narrative %}<p>{{ p }}</p>{% endfor %}</div>

<h2>{{ tr('briefing.section.charts') }}</h2>
{% for name in ('hourly', 'groups') %}{% if images[name] %}<img class="chart" src="{{ images[name] }}">{% endif %}{% endfor %}

<h2>{{ tr('briefing.section.departments') }}</h2>
{% if images.departments %}<img class="chart" src="{{ images.departments }}">{% endif %}
<table><thead><tr><th>{{ tr('briefing.dept.name') }}</th><th class="num">{{ tr('briefing.dept.due') }}</th>
<th class="num">{{ tr('briefing.dept.closed') }}</th><th class="num">{{ tr('briefing.dept.closure') }}</th>
<th class="num">{{ tr('briefing.dept.on_time') }}</th><th class="num">{{ tr('briefing.dept.rework') }}</th>
<th class="num">{{ tr('briefing.dept.score') }}</th><th>{{ tr('briefing.dept.grade') }}</th></tr></thead><tbody>
{% for r in v.departments.rows %}<tr><td>{{ r[0] }}</td>{% for c in r[1:7] %}<td class="num">{{ c }}</td>{% endfor %}<td>{{ r[7] }}</td></tr>{% endfor %}
</tbody></table>
<p class="note keep-with-table">{% if v.departments.others %}{{ v.departments.others }} · {% endif %}{{ tr('briefing.dept.note') }}</p>

<div class="unusual"><h2>{{ tr('briefing.section.unusual') }}</h2>
<p class="method">{{ v.unusual.method }}</p>
{% if v.unusual.partial %}<p class="note">{{ v.unusual.partial }}</p>{% endif %}
<div class="mapbox keep"><div class="mapcol"><img class="map" src="{{ map }}"></div><div class="listcol">
{% if v.unusual.rows %}
<table><thead><tr><th>#</th><th>{{ tr('briefing.unusual.place') }}</th>
<th class="num">{{ tr('briefing.unusual.observed') }}</th><th class="num">{{ tr('briefing.unusual.expected') }}</th>
<th class="num">{{ tr('briefing.unusual.p') }}</th></tr></thead><tbody>
{% for r in v.unusual.rows %}<tr><td>{{ r[0] }}</td><td>{{ r[1] }}<br><span class="note">{{ r[3] }} · {{ r[2] }}</span></td>
<td class="num">{{ r[4] }}</td><td class="num">{{ r[5] }}</td><td class="num">{{ r[6] }}</td></tr>{% endfor %}
</tbody></table>
{% if v.unusual.more %}<p class="note">{{ v.unusual.more }}</p>{% endif %}
{% elif v.unusual.available %}<p>{{ tr('briefing.unusual.none') }}</p>{% endif %}
{% if v.unusual.clusters %}<h3>{{ tr('briefing.unusual.clusters') }}</h3>
<ul class="clusters">{% for c in v.unusual.clusters %}<li>{{ c }}</li>{% endfor %}</ul>{% endif %}
</div></div></div>

<h2>{{ tr('briefing.section.forecast') }}</h2>
{% if v.forecast.available %}
<h3>{{ v.forecast.heading }}</h3>
<p><b>{{ v.forecast.total }}</b></p>
<p class="method">{{ v.forecast.model }}<br>{{ v.forecast.accuracy }}</p>
{% if images.backtest %}<img class="chart" src="{{ images.backtest }}">{% endif %}
<div class="two keep">
<div><table><thead><tr><th>{{ tr('briefing.forecast.street') }}</th><th class="num">{{ tr('briefing.forecast.mean') }}</th>
<th class="num">{{ tr('briefing.forecast.interval') }}</th></tr></thead><tbody>
{% for r in v.forecast.streets %}<tr><td>{{ r[0] }}</td><td class="num">{{ r[1] }}</td><td class="num">{{ r[2] }}</td></tr>{% endfor %}
</tbody></table></div>
<div><table><thead><tr><th>{{ tr('briefing.unusual.group') }}</th><th class="num">{{ tr('briefing.forecast.mean') }}</th>
<th class="num">{{ tr('briefing.forecast.interval') }}</th></tr></thead><tbody>
{% for r in v.forecast.groups %}<tr><td>{{ r[0] }}</td><td class="num">{{ r[1] }}</td><td class="num">{{ r[2] }}</td></tr>{% endfor %}
</tbody></table></div></div>
{% else %}<p>{{ v.forecast.message }}</p>{% endif %}

<h2>{{ tr('briefing.section.overdue') }}</h2>
{% if v.overdue %}
<table><thead><tr><th>{{ tr('briefing.overdue.case') }}</th><th>{{ tr('briefing.overdue.category') }}</th>
<th>{{ tr('briefing.overdue.street') }}</th><th>{{ tr('briefing.overdue.department') }}</th><th>{{ tr('briefing.overdue.stage') }}</th>
<th class="num">{{ tr('briefing.overdue.by') }}</th><th>{{ tr('briefing.overdue.now') }}</th></tr></thead><tbody>
{% for r in v.overdue %}<tr><td class="mono">{{ r[0] }}</td>{% for c in r[1:5] %}<td>{{ c }}</td>{% endfor %}
<td class="num">{{ r[5] }}</td><td>{{ r[6] }}</td></tr>{% endfor %}
</tbody></table>
{% else %}<p>{{ tr('briefing.overdue.none') }}</p>{% endif %}

<h2>{{ tr('briefing.section.emergencies') }}</h2>
{% if v.emergencies %}
<table><thead><tr><th>{{ tr('briefing.em.time') }}</th><th>{{ tr('briefing.em.case') }}</th><th>{{ tr('briefing.em.category') }}</th>
<th>{{ tr('briefing.em.street') }}</th><th>{{ tr('briefing.em.department') }}</th><th class="num">{{ tr('briefing.em.dispatch') }}</th>
<th class="num">{{ tr('briefing.em.handle') }}</th><th>{{ tr('briefing.em.outcome') }}</th></tr></thead><tbody>
{% for r in v.emergencies %}<tr><td>{{ r[0] }}</td><td class="mono">{{ r[1] }}</td>{% for c in r[2:5] %}<td>{{ c }}</td>{% endfor %}
<td class="num">{{ r[5] }}</td><td class="num">{{ r[6] }}</td><td class="outcome-{{ r[8] }}">{{ r[7] }}</td></tr>{% endfor %}
</tbody></table>
{% else %}<p>{{ tr('briefing.em.none') }}</p>{% endif %}
{% endif %}
</body></html>
"""

_template = Environment(autoescape=True).from_string(TEMPLATE)
_css = Environment(autoescape=False).from_string(CSS)   # CSS, not HTML: its one field is made safe by _css_string


def data_url(payload: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(payload).decode('ascii')}"


def render_html(v: dict, images: dict[str, str], map_url: str) -> str:
    """The document's HTML from a :func:`view` (``images``: name → data URL)."""
    lang = v["lang"]
    css = Markup(_css.render(footer=_css_string(t("briefing.footer", lang))))
    return _template.render(v=v, images=images, map=map_url, css=css, tr=lambda key: t(key, lang))


def _css_string(text: str) -> str:
    """A text safe inside a CSS string literal (the footer comes from the catalogue)."""
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ").replace("<", "‹").replace(">", "›")


def _fetcher():
    """WeasyPrint's URL fetcher limited to ``data:`` URLs: a briefing loads nothing."""
    from weasyprint.urls import URLFetcher
    return URLFetcher(allowed_protocols=("data",), fail_on_errors=True)


def render_pdf(data: dict, scenario, lang: str, renderer=None, with_charts: bool = True) -> bytes:
    """The PDF of a briefing ``data`` (from :meth:`BriefingService.build`) in ``lang``.

    ``renderer``: a :class:`~datasource.tools.chart_images.ChartRenderer` to draw the
    charts with (the web process keeps one open); default: a browser for this document."""
    from weasyprint import HTML
    from datasource.tools.chart_images import ChartRenderer
    v = view(data, scenario, lang)
    images: dict[str, str] = {}
    map_url = ""
    if not v["empty"]:
        names = Names(scenario, lang)
        if with_charts:
            drawn = (renderer or ChartRenderer(keep=False)).render(charts(data, names, lang))
            images = {name: data_url(svg, "image/svg+xml") for name, svg in drawn.items()}
        map_url = data_url(unusual_map(data, scenario, names, lang).encode("utf-8"), "image/svg+xml")
    html = render_html(v, {k: images.get(k) for k in ("hourly", "groups", "departments", "backtest")}, map_url)
    return HTML(string=html, url_fetcher=_fetcher()).write_pdf()
