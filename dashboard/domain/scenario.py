"""A scenario: the configuration a district runs on, read from files (never hard-coded).

``categories.json``  component (部件) and event (事件) classes with their codes;
``departments.json`` departments and street offices; ``routing.json`` category → default
department; ``time_limits.json`` limits per stage / category / urgency; ``calendar.json``
the working calendar's hours and local adjustments (the national holidays come from outside,
see :class:`Scenario`); ``streets.json``/``communities.geojson``/``grids.geojson`` the
territory; ``inspectors.json`` grid inspectors and the grids they cover.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from dashboard.domain.calendar import HolidayData, WorkingCalendar
from dashboard.domain.limits import TimeLimits

DEFAULT_SCENARIO = Path(__file__).resolve().parent.parent / "scenarios" / "dongcheng"
#: Map layers a scenario may lack (read as empty); the district and street outlines are required.
OPTIONAL_SOURCES = ("roads", "facilities", "green_spaces")


class ScenarioError(Exception):
    """A scenario file is missing or inconsistent (one-line message)."""


@dataclass(frozen=True)
class Category:
    code: str
    kind: str          # "component" (部件) or "event" (事件)
    name_zh: str
    name_en: str
    weight: float      # relative frequency, used by the simulator
    facility_kinds: tuple[str, ...] = ()
    alarm: bool = False  # an urgent case of it takes over the wall (categories.json ``alarm``; issue 13)


@dataclass(frozen=True)
class Department:
    code: str
    name_zh: str
    name_en: str
    kind: str          # "professional" or "street"
    speed: float = 1.0  # simulator: >1 slower than the time limit on average
    short_name: str = ""  # the name a wall can show in full (departments.json ``short_name``; issue 13)

    def short(self, lang: str = "zh") -> str:
        """The short name in ``lang`` (English names are short already)."""
        return self.name_en if lang == "en" else (self.short_name or self.name_zh)


class Scenario:
    """Loaded scenario files with lookups; geometry stays as plain GeoJSON dicts.

    ``holidays`` are the national public holidays and make-up working days the calendar starts
    from; the domain cannot read them (it imports the standard library only), so
    ``datasource.store.holiday_source.load_scenario`` passes the ``holidays`` package's.  Without
    them the calendar knows only calendar.json's own days — fine for geometry, not for deadlines.
    """

    def __init__(self, root: Path = DEFAULT_SCENARIO, holidays: HolidayData | None = None):
        self.root = Path(root)
        if not self.root.is_dir():
            raise ScenarioError(f"scenario folder {self.root} does not exist")
        self.name = self.root.name
        self.categories = {c["code"]: Category(c["code"], c["kind"], c["name_zh"], c["name_en"],
                                               float(c.get("weight", 1)), tuple(c.get("facility_kinds", ())),
                                               bool(c.get("alarm", False)))
                           for c in self._json("categories.json")}
        self.departments = {d["code"]: Department(d["code"], d["name_zh"], d["name_en"], d["kind"],
                                                  float(d.get("speed", 1)), str(d.get("short_name") or ""))
                            for d in self._json("departments.json")}
        self.routing: dict[str, str] = self._json("routing.json")
        try:
            self.calendar = WorkingCalendar.from_config(self._json("calendar.json"), holidays or HolidayData())
        except ValueError as exc:
            raise ScenarioError(f"{self.root / 'calendar.json'}: {exc}") from None
        try:
            self.limits = TimeLimits(self._json("time_limits.json"), self.calendar)
        except ValueError as exc:
            raise ScenarioError(f"time_limits.json: {exc}") from None
        self.streets: dict[str, str] = {s["code"]: s["name"] for s in self._json("streets.json")}
        self._check()

    def _json(self, name: str):
        path = self.root / name
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ScenarioError(f"scenario file {path} is missing") from None
        except ValueError as exc:
            raise ScenarioError(f"scenario file {path} is not valid JSON: {exc}") from None

    def _check(self) -> None:
        for category, department in self.routing.items():
            if category not in self.categories:
                raise ScenarioError(f"routing.json names unknown category {category}")
            if department not in self.departments and department != "street":
                raise ScenarioError(f"routing.json sends {category} to unknown department {department}")

    def raises_alarm(self, category_code: str | None, urgency: str | None) -> bool:
        """Whether a case takes over the wall: an *urgent* case of a category marked ``alarm``
        (the scenario marks class 04, 突发事件); never an ordinary case (issue 13)."""
        category = self.categories.get(category_code or "")
        return bool(category and category.alarm and urgency == "urgent")

    def department_for(self, category: str, street_code: str | None) -> str:
        """The default department of a category ("street" routes to the case's street office)."""
        department = self.routing.get(category, "street")
        if department == "street":
            return f"street-{street_code}" if street_code else next(iter(self.departments))
        return department

    @cached_property
    def grids_geojson(self) -> dict:
        return self._json("grids.geojson")

    @cached_property
    def communities_geojson(self) -> dict:
        return self._json("communities.geojson")

    @cached_property
    def communities(self) -> dict[str, str]:
        """Community code → name (from ``communities.geojson``)."""
        return {f["properties"]["code"]: f["properties"].get("name", "") for f in self.communities_geojson["features"]}

    @cached_property
    def inspectors(self) -> list[dict]:
        return self._json("inspectors.json")

    def source_geojson(self, name: str) -> dict:
        """One of the real map layers copied under ``source/`` (district, streets, roads …).

        The layers in :data:`OPTIONAL_SOURCES` may be absent (a generated city has no roads,
        facilities or green spaces): they then read as an empty collection."""
        if name in OPTIONAL_SOURCES and not (self.root / "source" / f"{name}.geojson").exists():
            return {"type": "FeatureCollection", "features": []}
        return self._json(f"source/{name}.geojson")

    def district_name(self, lang: str = "zh") -> str:
        """The district's name for titles: ``name_en`` (English) or ``name`` of ``source/district.geojson``."""
        features = self.source_geojson("district")["features"]
        props = (features[0].get("properties") or {}) if features else {}
        return str((props.get("name_en") if lang == "en" else None) or props.get("name") or self.name)
