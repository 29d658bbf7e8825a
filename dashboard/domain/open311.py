"""Open311 GeoReport v2: the rules of the standard as this product speaks it (pure).

GeoReport v2 (http://wiki.open311.org/GeoReport_v2) lets any Open311 client list the
*services* (here: the scenario's categories), read a service's *definition* (its attributes),
*POST a request* (here: report a case) and read *requests* (cases) back.  This module holds
what does not need storage or HTTP: the formats, the attributes a service takes and the check
of their values, the status a stage maps to, the position and date arguments, and the GET
query's window (the specification's default 90 days and 1,000 requests).

Everything a client sends passes the product's one edge layer (:mod:`dashboard.domain.inputs`);
a refusal is an :class:`Open311Refused` with the HTTP status the specification names (400 for a
bad argument, 403 for the API key, 404 for what does not exist) and an i18n key (``open311.*``
or the edge layer's ``cmd.*`` / ``inputs.*``) the door renders in the caller's language.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from dashboard.domain.codes import is_case_id
from dashboard.domain.components import is_component_code
from dashboard.domain.inputs import InputRefused, clean_text, finite_number, parse_instant, quote
from dashboard.domain.lifecycle import Stage
from dashboard.domain.limits import URGENCIES

FORMATS = ("xml", "json")
#: GET requests: the default window and the most requests one answer holds (the specification's)
WINDOW = timedelta(days=90)
MAX_REQUESTS = 1000
#: the channel an Open311 report is recorded under (a public channel: return visits follow)
SOURCE = "app"
#: longest address text kept; the spec's description limit is 4,000, the product's 2,000
ADDRESS_MAX = 500
URL_MAX = 1000
#: personal fields of POST requests: checked as text, never stored (see docs/open311.md)
PERSONAL_FIELDS = ("email", "device_id", "account_id", "first_name", "last_name", "phone")
#: every plain form field POST requests understands (others are ignored, as clients add their own)
FORM_FIELDS = ("api_key", "jurisdiction_id", "service_code", "lat", "long", "address_string", "address_id",
               "description", "media_url") + PERSONAL_FIELDS
_ATTRIBUTE = re.compile(r"^attribute\[([^\[\]]{1,64})\](\[\])?$")
_NUMBER = re.compile(r"^\s*[-+]?(\d{1,3}(\.\d{1,15})?|\.\d{1,15})\s*$")
_URL = re.compile(r"^https?://[^\s<>\"]{1,990}$")


class Open311Refused(Exception):
    """A request the server cannot fulfil: ``status`` (400/403/404), an i18n ``key`` and its values."""

    def __init__(self, status: int, key: str, **values):
        self.status, self.key, self.values = status, key, values
        super().__init__(f"{status} {key} {values}")

    @classmethod
    def of_input(cls, exc: InputRefused) -> "Open311Refused":
        return cls(400, exc.key, **exc.values)


# ---------------------------------------------------------------------------- formats and status
def split_format(name: str) -> tuple[str, str]:
    """``"services.json"`` → ``("services", "json")``; 400 for another or no extension."""
    stem, dot, fmt = name.rpartition(".")
    if not dot or fmt not in FORMATS:
        raise Open311Refused(400, "open311.format", value=quote(name, 60))
    return stem, fmt


def status_of(stage: str | None) -> str:
    """``open`` while the case is in the loop, ``closed`` once closed or rejected (不予立案)."""
    try:
        return "open" if Stage(stage).is_open else "closed"
    except ValueError:
        return "open"


def group_of(category_code: str) -> str:
    """The major class a category belongs to (``C0118`` → ``C01``): the service's group."""
    return category_code[:3]


# ---------------------------------------------------------------------------- attributes
@dataclass(frozen=True)
class Attribute:
    """One attribute of a service definition (the spec's ``attribute``)."""

    code: str
    datatype: str          # string, number, datetime, text, singlevaluelist, multivaluelist
    order: int
    required: bool = False
    values: tuple[str, ...] = ()   # keys of a list's values
    kinds: tuple[str, ...] = ("component", "event")   # the category kinds that take it
    variable: bool = True


#: What the product's report takes beyond the spec's core fields.  Names and descriptions are
#: i18n (``open311.attr.<code>``, ``open311.attr.<code>.help``, ``open311.value.<code>.<key>``).
ATTRIBUTES = (
    Attribute("urgency", "singlevaluelist", 1, values=URGENCIES),
    Attribute("component", "string", 2, kinds=("component",)),
)


def attributes_for(kind: str) -> tuple[Attribute, ...]:
    """The attributes of a service whose category is of ``kind`` (component or event)."""
    return tuple(a for a in ATTRIBUTES if kind in a.kinds)


def parse_attributes(items: list[tuple[str, list[str]]], kind: str) -> dict[str, str]:
    """The ``attribute[code]`` values of a form (``items``: each key with all its values),
    checked against the service's definition: unknown codes, values outside a list, several
    values for a single value, a malformed component code → 400; missing → the default."""
    allowed = {a.code: a for a in attributes_for(kind)}
    found: dict[str, str] = {}
    for key, values in items:
        if not key.startswith("attribute"):
            continue
        match = _ATTRIBUTE.match(key)
        if match is None:
            raise Open311Refused(400, "open311.attr_form", value=quote(key))
        code = match[1]
        attribute = allowed.get(code)
        if attribute is None:
            raise Open311Refused(400, "open311.attr_unknown", code=quote(code))
        if len(values) != 1 or code in found:
            raise Open311Refused(400, "open311.attr_single", code=code)
        value = clean_text(values[0], f"attribute[{code}]", 64)
        if attribute.datatype == "singlevaluelist" and value not in attribute.values:
            raise Open311Refused(400, "open311.attr_value", code=code, value=quote(value),
                                 choices=", ".join(attribute.values))
        if code == "component" and value and not is_component_code(value):
            raise Open311Refused(400, "open311.attr_component", value=quote(value))
        if value:
            found[code] = value
    for attribute in allowed.values():
        if attribute.required and attribute.code not in found:
            raise Open311Refused(400, "open311.attr_missing", code=attribute.code)
    return found


# ---------------------------------------------------------------------------- a POSTed request
@dataclass
class Posted:
    """A POST requests form as checked values (``lon``/``lat`` still WGS-84)."""

    api_key: str
    service_code: str
    lon: float | None
    lat: float | None
    address: str
    description: str
    media_url: str | None
    attributes: dict[str, str] = field(default_factory=dict)


def single(items: dict[str, list[str]], name: str) -> str | None:
    """The one value of a plain form field (None when absent); 400 when it is given twice."""
    values = items.get(name)
    if not values:
        return None
    if len(values) > 1:
        raise Open311Refused(400, "open311.twice", field=name)
    value = values[0]
    clean_text(value, name, 4000)   # NUL, lone surrogates: refused whatever the field
    return value


def parse_coordinate(text: str | None, name: str, low: float, high: float) -> float | None:
    """A form's ``lat`` or ``long`` as degrees (None when empty); 400 unless a decimal number in range."""
    if text is None or not text.strip():
        return None
    if len(text) > 40 or not _NUMBER.match(text):
        raise Open311Refused(400, "open311.bad_number", field=name, value=quote(text))
    return finite_number(float(text), name, low, high)


def parse_post(items: dict[str, list[str]], categories: dict[str, str]) -> Posted:
    """Check a POST requests form (``items``: field → values; ``categories``: code → kind).

    403 without an API key; 400 without a service code, with a malformed value or no
    location; 404 for an unknown service code."""
    try:
        for name in FORM_FIELDS:
            single(items, name)
        api_key = (single(items, "api_key") or "").strip()
        if not api_key:
            raise Open311Refused(403, "open311.no_key")
        code = (single(items, "service_code") or "").strip()
        if not code:
            raise Open311Refused(400, "open311.no_service")
        if code not in categories:
            raise Open311Refused(404, "open311.unknown_service", code=quote(code))
        lat = parse_coordinate(single(items, "lat"), "lat", -90.0, 90.0)
        lon = parse_coordinate(single(items, "long"), "long", -180.0, 180.0)
        if (lat is None) != (lon is None):
            raise Open311Refused(400, "open311.half_position")
        address = clean_text(single(items, "address_string"), "address_string", ADDRESS_MAX)
        if lat is None and not address:
            if single(items, "address_id"):
                raise Open311Refused(400, "open311.address_id")
            raise Open311Refused(400, "open311.no_location")
        description = clean_text(single(items, "description"), "description", 2000)
        media_url = (single(items, "media_url") or "").strip() or None
        if media_url is not None and (len(media_url) > URL_MAX or not _URL.match(media_url)):
            raise Open311Refused(400, "open311.bad_url", value=quote(media_url))
        attributes = parse_attributes(list(items.items()), categories[code])
    except InputRefused as exc:
        raise Open311Refused.of_input(exc) from None
    return Posted(api_key, code, lon, lat, address, description, media_url, attributes)


# ---------------------------------------------------------------------------- GET requests
@dataclass(frozen=True)
class Query:
    """A checked GET requests query: either ``ids`` (which override everything) or a window."""

    ids: tuple[str, ...] = ()
    codes: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    start: datetime | None = None
    end: datetime | None = None
    limit: int = MAX_REQUESTS


def intake_notice(intake) -> tuple[str, dict] | None:
    """What a reader must know about where a request was placed, as an i18n key and its values:
    outside every grid (snapped to the nearest grid's edge, with the distance), or placed by a
    name in its address (approximate); None otherwise.  ``intake`` is the ``reported`` event's
    ``intake`` (:mod:`datasource.services.open311`): said to the Open311 client and shown on the
    work pages' case details."""
    if not isinstance(intake, dict):
        return None
    outside = intake.get("outside")
    if isinstance(outside, dict) and isinstance(outside.get("distance_m"), int):
        return "open311.notice.outside", {"distance": f"{outside['distance_m']:,}"}
    if isinstance(intake.get("located_by"), str):
        return "open311.notice.address", {"name": intake["located_by"]}
    return None


def comma_list(text: str | None) -> tuple[str, ...]:
    """``"a, b,,c"`` → ``("a", "b", "c")`` (an empty text: no values)."""
    if not text:
        return ()
    return tuple(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))


def parse_query(args: dict[str, str | None], categories, now: datetime) -> Query:
    """Check GET requests' arguments; ``now`` is the end of the default window.

    ``service_request_id`` (comma list) overrides the others; ``start_date``/``end_date`` may
    not span more than 90 days (given one, the window extends 90 days from it), the default is
    the last 90 days; ``status`` is ``open`` and/or ``closed``; ``service_code`` known codes."""
    try:
        for name, value in args.items():
            if value:
                clean_text(value, name, 20000)
        ids = comma_list(args.get("service_request_id"))
        if ids:
            if len(ids) > MAX_REQUESTS:
                raise Open311Refused(400, "open311.too_many_ids", limit=MAX_REQUESTS)
            bad = next((i for i in ids if not is_case_id(i)), None)
            if bad is not None:
                raise Open311Refused(400, "open311.bad_id", value=quote(bad))
            return Query(ids=ids)
        codes = comma_list(args.get("service_code"))
        unknown = next((c for c in codes if c not in categories), None)
        if unknown is not None:
            raise Open311Refused(404, "open311.unknown_service", code=quote(unknown))
        statuses = comma_list(args.get("status"))
        wrong = next((s for s in statuses if s not in ("open", "closed")), None)
        if wrong is not None:
            raise Open311Refused(400, "open311.bad_status", value=quote(wrong))
        start = _date(args.get("start_date"), "start_date")
        end = _date(args.get("end_date"), "end_date")
    except InputRefused as exc:
        raise Open311Refused.of_input(exc) from None
    if start is None and end is None:
        end = now
        start = now - WINDOW
    elif start is None:
        start = end - WINDOW
    elif end is None:
        end = start + WINDOW
    if end < start:
        raise Open311Refused(400, "open311.dates_order")
    if end - start > WINDOW:
        raise Open311Refused(400, "open311.dates_span", days=WINDOW.days)
    return Query(codes=codes, statuses=tuple(sorted(statuses)), start=start, end=end)


def _date(value: str | None, name: str) -> datetime | None:
    """A w3 date-time with its offset (``2010-01-01T00:00:00Z``); None when empty."""
    if value is None or not value.strip():
        return None
    return parse_instant(value.strip(), name)


__all__ = ["FORMATS", "WINDOW", "MAX_REQUESTS", "SOURCE", "Open311Refused", "Attribute", "ATTRIBUTES", "Posted",
           "Query", "split_format", "status_of", "group_of", "attributes_for", "parse_attributes", "parse_post",
           "parse_query", "parse_coordinate", "comma_list", "single"]
