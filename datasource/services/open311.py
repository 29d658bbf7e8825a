"""Open311 GeoReport v2 over the product's own paths: services, reports and requests as plain data.

* services — the scenario's categories (code = the category code, a string such as ``C0101``;
  group = the category's major class), named in the caller's language; each definition lists
  the attributes of :data:`dashboard.domain.open311.ATTRIBUTES`;
* a POSTed request becomes a *reported* case through :meth:`CommandService.report` — the same
  checks, audit row, checked append and stream as every other report — with the Open311 data
  kept in the event (``intake``: position as sent, outside mark, address, attributes);
* requests are read from the reporting database (the command side for a case reported a moment
  ago), mapped field by field (docs/open311.md), through a :class:`Viewer` that decides what is
  shown: the **public** (no or a non-reading key) sees public fields only, a **reader** (an API
  key of a role that reads cases) sees what :func:`dashboard.domain.scope.may_read_case` allows,
  with the people's notes and the photo.

Answers are lists of dicts in the specification's field names and order; the door renders them
as XML or JSON (:mod:`dashboard.web.open311_format`).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import cached_property

from sqlalchemy import select

from dashboard.domain.codes import is_case_id
from dashboard.domain.inputs import quote, storable_problem
from dashboard.domain.open311 import (MAX_REQUESTS, SOURCE, Open311Refused, Posted, Query, attributes_for, group_of,
                                      intake_notice, status_of)
from dashboard.domain.scope import may_read_case
from dashboard.domain.visits import PUBLIC_SOURCES
from dashboard.i18n import t
from datasource.services.command_types import Actor, CommandRefused
from datasource.services.inbox import inbox_key
from datasource.services.open311_places import Places, to_wgs84
from datasource.services.scoping import scoped
from datasource.store import schema

#: event types whose body carries a person's note or reason (the newest is ``status_notes``)
NOTE_TYPES = ("filed", "rejected", "dispatched", "returned", "handled", "verified", "rework", "closed", "extended",
              "suspended", "resumed", "reopened", "visited")
COLUMNS = ("case_id", "stage", "category_code", "department_code", "grid_code", "community_code", "street_code",
           "lon", "lat", "source", "description", "reported_at", "updated_at", "closed_at", "rejected_at",
           "deadline_at")


@dataclass(frozen=True)
class Viewer:
    """Who reads: ``None`` role = the public; else a user who may read cases (role, department, scope)."""

    role: str | None = None
    department: str | None = None
    scope: str | None = None

    @property
    def public(self) -> bool:
        return self.role is None

    def may_read(self, department: str | None, street: str | None, community: str | None) -> bool:
        return self.public or may_read_case(self.role, self.department, self.scope, department, street, community)


PUBLIC = Viewer()
#: stored event bodies, read with NaN/Infinity (that older versions may have stored) as null
_BODY = json.JSONDecoder(parse_constant=lambda _: None)


class Open311:
    """The GeoReport v2 server's work on one System (the door is :mod:`dashboard.web.open311`)."""

    def __init__(self, system, commands, queries):
        self.system, self.commands, self.queries = system, commands, queries
        self.scenario = system.scenario
        self.tz = self.scenario.calendar.tz

    @cached_property
    def places(self) -> Places:
        return Places(self.system)

    @cached_property
    def kinds(self) -> dict[str, str]:
        """Service code → category kind (component / event)."""
        return {code: c.kind for code, c in self.scenario.categories.items()}

    # ------------------------------------------------------------------ services
    def services(self, lang: str) -> list[dict]:
        """GET services: every category as a service, in the scenario's order."""
        out = []
        for code, category in self.scenario.categories.items():
            name = self.queries.category_name(code, lang)
            group = t(f"briefing.group.{group_of(code)}", lang)
            out.append({"service_code": code, "service_name": name,
                        "description": t(f"open311.kind.{category.kind}", lang, group=group),
                        "metadata": True, "type": "realtime",
                        "keywords": ", ".join(dict.fromkeys((category.name_zh, category.name_en, code))),
                        "group": group})
        return out

    def definition(self, code: str, lang: str) -> dict:
        """GET services/{code}: the attributes the service takes; 404 for an unknown code."""
        kind = self.kinds.get(code)
        if kind is None:
            raise Open311Refused(404, "open311.unknown_service", code=code[:40])
        attributes = []
        for attribute in attributes_for(kind):
            values = [{"key": key, "name": t(f"open311.value.{attribute.code}.{key}", lang)}
                      for key in attribute.values]
            attributes.append({"variable": attribute.variable, "code": attribute.code,
                               "datatype": attribute.datatype, "required": attribute.required,
                               "datatype_description": t(f"open311.attr.{attribute.code}.type", lang),
                               "order": attribute.order,
                               "description": t(f"open311.attr.{attribute.code}", lang),
                               "values": values})
        return {"service_code": code, "attributes": attributes}

    # ------------------------------------------------------------------ POST requests
    def report(self, actor: Actor, posted: Posted, lang: str) -> dict:
        """POST requests: place the request, report the case; the answer's one request."""
        intake: dict = {"channel": "open311"}
        notice = t("open311.notice.received", lang)
        if posted.lat is not None:
            placed = self.places.place(posted.lon, posted.lat)
            intake["position"] = {"lon": posted.lon, "lat": posted.lat, "crs": "WGS-84"}
        else:
            found = self.places.by_address(posted.address)
            if found is None:
                raise Open311Refused(400, "open311.address_unknown")
            name, placed = found
            intake["located_by"] = name
            notice = t("open311.notice.address", lang, name=name)
        if posted.address:
            intake["address"] = posted.address
        if posted.media_url:
            intake["media_url"] = posted.media_url
        if posted.attributes:
            intake["attributes"] = dict(posted.attributes)
        if placed.outside_m is not None:
            intake["outside"] = {"lon": placed.sent[0], "lat": placed.sent[1], "distance_m": placed.outside_m}
            notice = t("open311.notice.outside", lang, distance=f"{placed.outside_m:,}")
        try:
            result = self.commands.report(actor, posted.service_code, placed.lon, placed.lat, posted.description,
                                          SOURCE, posted.attributes.get("urgency", "normal"),
                                          posted.attributes.get("component"), intake=intake)
        except CommandRefused as exc:
            raise refused(exc) from None
        return {"service_request_id": result.case_id, "service_notice": notice, "account_id": None}

    # ------------------------------------------------------------------ GET requests
    def requests(self, query: Query, viewer: Viewer, lang: str) -> list[dict]:
        """GET requests: the cases the query names (by ids, or by window, codes and status),
        newest first, at most :data:`MAX_REQUESTS`, each as the viewer may see it."""
        table = schema.cases
        statement = select(*[table.c[name] for name in COLUMNS])
        if query.ids:
            statement = statement.where(table.c.case_id.in_(list(query.ids)))
        else:
            statement = statement.where(table.c.reported_at >= query.start, table.c.reported_at <= query.end)
            if query.codes:
                statement = statement.where(table.c.category_code.in_(list(query.codes)))
            if query.statuses == ("closed",):
                statement = statement.where(table.c.stage.in_(["closed", "rejected"]))
            elif query.statuses == ("open",):
                statement = statement.where(table.c.stage.not_in(["closed", "rejected"]))
        if viewer.role == "department":
            statement = statement.where(table.c.department_code == (viewer.department or ""))
        statement = scoped(statement, table, viewer.scope)
        statement = statement.order_by(table.c.reported_at.desc(), table.c.case_id.desc()).limit(MAX_REQUESTS)
        with self.system.engine.connect() as c:
            rows = [dict(r) for r in c.execute(statement).mappings()]
        events = self._events([r["case_id"] for r in rows], viewer.public)
        return [self._request(row, events.get(row["case_id"], []), viewer, lang) for row in rows]

    def request(self, case_id: str, viewer: Viewer, lang: str) -> dict:
        """GET requests/{id}: one request; 404 unknown, 403 when the key's user may not read it."""
        if not is_case_id(case_id):
            raise Open311Refused(404, "open311.unknown_request", id=quote(case_id))
        row = self.queries.row(case_id)
        if row is None:
            return self._fresh(case_id, viewer, lang)
        if not viewer.may_read(row["department_code"], row["street_code"], row["community_code"]):
            raise Open311Refused(403, "open311.not_readable", id=case_id)
        return self._request(row, self._events([case_id], viewer.public).get(case_id, []), viewer, lang)

    def _fresh(self, case_id: str, viewer: Viewer, lang: str) -> dict:
        """A case the worker has not projected yet, from the command side (a GET right after a POST)."""
        state = self.system.stream.case_state(case_id)
        if not state.get("stage"):
            raise Open311Refused(404, "open311.unknown_request", id=case_id)
        grid = state.get("grid") or ""
        if not viewer.may_read(state.get("department"), state.get("street") or grid[:9] or None, grid[:12] or None):
            raise Open311Refused(403, "open311.not_readable", id=case_id)
        at = _from_micros(state.get("t0")) or self._time(state.get("at"))
        row = {"case_id": case_id, "stage": state["stage"], "category_code": state.get("category"),
               "department_code": state.get("department"), "grid_code": grid or None,
               "community_code": grid[:12] or None, "street_code": state.get("street") or grid[:9] or None,
               "lon": None, "lat": None, "source": None, "description": None, "reported_at": at,
               "updated_at": self._time(state.get("at")), "closed_at": None, "rejected_at": None,
               "deadline_at": self._time(state.get("deadline"))}
        return self._request(row, [], viewer, lang)

    def _time(self, text: str | None) -> datetime | None:
        try:
            return datetime.fromisoformat(text) if text else None
        except ValueError:
            return None

    def _events(self, case_ids: list[str], public: bool) -> dict[str, list[dict]]:
        """The report events of these cases — and for readers their photo and note events —
        in stream order, per case."""
        if not case_ids:
            return {}
        table = schema.case_events
        out: dict[str, list[dict]] = {}
        types = ("reported",) if public else ("reported", "attached") + NOTE_TYPES
        statement = (select(table.c.case_id, table.c.type, table.c.body)
                     .where(table.c.case_id.in_(case_ids), table.c.type.in_(types))
                     .order_by(table.c.case_id, table.c.id))   # stream order per case (ix_case_events_case_id_id)
        with self.system.engine.connect() as c:
            for r in c.execute(statement).mappings():
                try:
                    body = _BODY.decode(r["body"])
                except ValueError:
                    body = {}
                out.setdefault(r["case_id"], []).append({"type": r["type"], "body": body if isinstance(body, dict)
                                                         else {}})
        return out

    def _request(self, row: dict, events: list[dict], viewer: Viewer, lang: str) -> dict:
        """One case as the specification's request, fields in its order."""
        intake = next((e["body"].get("intake") for e in events if e["type"] == "reported"), None)
        intake = intake if isinstance(intake, dict) else {}
        status = status_of(row["stage"])
        department = self.queries.department_name(row["department_code"], lang) if row["department_code"] else None
        lon, lat = _sent_position(intake) or to_wgs84(row["lon"], row["lat"])
        full = not viewer.public
        description = row["description"] if full or row["source"] in PUBLIC_SOURCES else None
        return {
            "service_request_id": row["case_id"],
            "status": status,
            "status_notes": self._notes(row, events, department, full, lang),
            "service_name": self.queries.category_name(row["category_code"], lang),
            "service_code": row["category_code"],
            "description": description,
            "agency_responsible": department,
            "service_notice": self._notice(intake, lang),
            "requested_datetime": self._w3(row["reported_at"]),
            "updated_datetime": self._w3((row["closed_at"] or row["rejected_at"] or row["updated_at"])
                                         if status == "closed" else row["updated_at"]),
            "expected_datetime": self._w3(row["deadline_at"]) if status == "open" else None,
            "address": self._address(row, intake, lang),
            "address_id": row["grid_code"],
            "zipcode": None,
            "lat": lat,
            "long": lon,
            "media_url": self._media(row["case_id"], events, intake, full),
        }

    def _notes(self, row: dict, events: list[dict], department: str | None, full: bool, lang: str) -> str:
        """The newest note or reason a person wrote (readers), else the stage in a sentence."""
        if full:
            for event in reversed(events):
                body = event["body"]
                text = body.get("note") or body.get("reason")
                if event["type"] in NOTE_TYPES and isinstance(text, str) and text.strip():
                    return text
        return t(f"open311.stage.{row['stage']}", lang, department=department or "-")

    @staticmethod
    def _notice(intake: dict, lang: str) -> str | None:
        found = intake_notice(intake)
        return t(found[0], lang, **found[1]) if found else None

    def _address(self, row: dict, intake: dict, lang: str) -> str | None:
        if isinstance(intake.get("address"), str) and intake["address"]:
            return intake["address"]
        if not row["grid_code"]:
            return None
        return t("open311.address", lang, grid=row["grid_code"],
                 community=self.queries.community_name(row["community_code"]),
                 street=self.queries.street_name(row["street_code"]))

    def _media(self, case_id: str, events: list[dict], intake: dict, full: bool) -> str | None:
        """The case's first photo (readers: the evidence route reads it with their key), else
        the media URL the reporter sent."""
        if full:
            for event in events:
                photos = event["body"].get("photos") if event["type"] == "attached" else None
                if isinstance(photos, list) and photos and isinstance(photos[0], dict) and photos[0].get("sha256"):
                    return f"/evidence/{case_id}/{photos[0]['sha256']}"
        url = intake.get("media_url")
        return url if isinstance(url, str) else None

    def _w3(self, when: datetime | None) -> str | None:
        """ISO 8601 with the scenario's offset, to the second (``2026-11-25T10:00:00+08:00``)."""
        if when is None:
            return None
        return when.astimezone(self.tz).replace(microsecond=0).isoformat()

    # ------------------------------------------------------------------ tokens
    def token(self, token: str) -> dict:
        """GET tokens/{token}: the request a token stands for — an inbox producer's event id
        once the gateway has accepted it, or the event id of any reported case; 404 otherwise."""
        if not token or len(token) > 64 or not token.isprintable() or storable_problem(token):
            raise Open311Refused(404, "open311.unknown_token", token=quote(token))
        stream = self.system.stream
        done = stream.client.get(f"{inbox_key(stream.key)}:done:{token}")   # the gateway's done_key
        if done:
            text = done.decode() if isinstance(done, bytes) else str(done)
            parts = text.split()
            if len(parts) == 2:
                return {"service_request_id": parts[1], "token": token}
        table = schema.case_events
        with self.system.engine.connect() as c:
            case_id = c.execute(select(table.c.case_id).where(table.c.event_id == token,
                                                              table.c.type == "reported")).scalar()
        if case_id is None:
            raise Open311Refused(404, "open311.unknown_token", token=quote(token))
        return {"service_request_id": case_id, "token": token}


def _from_micros(value) -> datetime | None:
    """The command side's report time (``t0``: microseconds since the epoch) as an aware instant."""
    try:
        return datetime.fromtimestamp(int(value) / 1_000_000, timezone.utc) if value else None
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _sent_position(intake: dict) -> tuple[float, float] | None:
    """(long, lat) as the Open311 client sent them (WGS-84), when the report came that way."""
    position = intake.get("position")
    if isinstance(position, dict):
        lon, lat = position.get("lon"), position.get("lat")
        if isinstance(lon, (int, float)) and isinstance(lat, (int, float)):
            return float(lon), float(lat)
    return None


def refused(exc: CommandRefused) -> Open311Refused:
    """A command's refusal in the specification's statuses (400, 403, 404; a conflict is a 400)."""
    status = exc.status if exc.status in (400, 403, 404) else 400
    error = Open311Refused(status, exc.msg.key, **exc.msg.values)
    error.msg = exc.msg
    return error


__all__ = ["Open311", "Viewer", "PUBLIC", "NOTE_TYPES", "refused"]
