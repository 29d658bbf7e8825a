"""What the pages' callbacks are given: plain-data services built on one :class:`System`.

Each page's ``register(app, services)`` takes this object; services return dataclasses,
dicts and lists, never ORM rows or Redis clients.
"""
from __future__ import annotations

from functools import cached_property


class Services:
    def __init__(self, system, geo=None):
        self.system = system
        #: the map layers (:class:`dashboard.web.geo.GeoAssets`): bounds and URLs for layouts
        self.geo = geo
        self.settings = system.settings
        self.scenario = system.scenario

    @cached_property
    def live(self):
        """The shared per-tick snapshot of the wall (one computation for all viewers)."""
        from datasource.services.wall import LiveSnapshot
        return LiveSnapshot(self.system)

    @cached_property
    def commands(self):
        """The command service: every action on a case, checked and appended to the stream."""
        from datasource.services.commands import CommandService
        return CommandService(self.system)

    @cached_property
    def cases(self):
        """Read queries about cases (queues, one case with its timeline)."""
        from datasource.services.cases import CaseQueries
        return CaseQueries(self.system)

    @cached_property
    def queues(self):
        """The work queues counted, filtered, sorted and paged in SQL (true totals)."""
        from datasource.services.queues import QueueService
        return QueueService(self.system, self.cases)

    @cached_property
    def search(self):
        """Case search by id, address, description words and reporter (role and scope aware)."""
        from datasource.services.search import CaseSearch
        return CaseSearch(self.system, self.cases)

    @cached_property
    def health(self):
        """Redis, database and backlog probes (the same rules for the API and the wall)."""
        from datasource.services.health import Health
        return Health(self.system)

    @cached_property
    def recommendation(self):
        """The dispatch recommendation (department, alternatives, deadline)."""
        from datasource.services.recommendation import Recommender
        return Recommender(self.system)

    @cached_property
    def briefing(self):
        """The leaders' daily briefing: its data, PDF (one Chromium kept for the charts) and archive."""
        from datasource.services.briefing_archive import Briefings
        return Briefings(self.system)

    @cached_property
    def components(self):
        """City components (城市部件): one component and its cases, boxes, repeat offenders."""
        from datasource.services.components import ComponentQueries
        return ComponentQueries(self.system)

    @cached_property
    def component_layer(self):
        """The components map layer, clustered on the server per viewport."""
        from datasource.services.components_map import ComponentLayer
        return ComponentLayer(self.system)

    @cached_property
    def maps(self):
        """Map geometry of the work pages (outlines, centre, bounds, drawn selections)."""
        from datasource.services.maps import MapGeometry
        return MapGeometry(self.system)

    @cached_property
    def evaluation(self):
        """Department evaluation over a period (/departments, its API and exports)."""
        from datasource.services.evaluation import DepartmentEvaluation
        return DepartmentEvaluation(self.system)

    @cached_property
    def evidence(self):
        """Evidence photos: checked uploads, their store, a case's photos (issue 11)."""
        from datasource.services.evidence import Evidence
        return Evidence(self.system, self.commands, self.cases)

    @cached_property
    def visits(self):
        """Return visits (回访): the queue, recording, the satisfaction rate (issue 11)."""
        from datasource.services.visits import Visits
        return Visits(self.system, self.commands, self.cases)
