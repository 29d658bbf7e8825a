"""The reporting database schema (SQLAlchemy Core): a documented public interface for BI.

Times are ``TIMESTAMP WITH TIME ZONE`` on PostgreSQL and UTC text on SQLite.  Stage and
event-type values are the English words of :mod:`dashboard.domain.lifecycle`.
"""
from __future__ import annotations

from sqlalchemy import (Boolean, LargeBinary, Column, Date, DateTime, Float, ForeignKey, Index, Integer,
                        MetaData, String, Table, Text, BigInteger, UniqueConstraint, text)

from datetime import timezone

from sqlalchemy.types import TypeDecorator

metadata = MetaData()


class UTCDateTime(TypeDecorator):
    """An aware datetime stored as UTC: ``timestamptz`` on PostgreSQL, UTC text on SQLite.

    SQLite's DATETIME drops the offset silently, so every value is converted to UTC on the
    way in and marked UTC on the way out."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} cannot be stored; give it an offset")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value


TS = UTCDateTime()

streets = Table(
    "streets", metadata,
    Column("code", String(9), primary_key=True, comment="9-digit street code (110101001 …)"),
    Column("name", String(64), nullable=False),
    Column("area_m2", Integer),
)

communities = Table(
    "communities", metadata,
    Column("code", String(12), primary_key=True, comment="street code + 3 digits"),
    Column("street_code", String(9), ForeignKey("streets.code"), nullable=False),
    Column("name", String(64), nullable=False),
    Column("area_m2", Integer),
)

grids = Table(
    "grids", metadata,
    Column("code", String(15), primary_key=True, comment="community code + 3-digit sequence"),
    Column("street_code", String(9), ForeignKey("streets.code"), nullable=False, index=True),
    Column("community_code", String(12), ForeignKey("communities.code"), nullable=False, index=True),
    Column("area_m2", Integer, nullable=False),
    Column("geometry", Text, nullable=False, comment="GeoJSON geometry, GCJ-02 lon/lat"),
)

departments = Table(
    "departments", metadata,
    Column("code", String(32), primary_key=True),
    Column("name", String(64), nullable=False),
    Column("name_en", String(64)),
    Column("kind", String(16), comment="professional or street"),
)

categories = Table(
    "categories", metadata,
    Column("code", String(8), primary_key=True, comment="C + component class, E + event class"),
    Column("kind", String(16), nullable=False, comment="component (部件) or event (事件)"),
    Column("name", String(64), nullable=False),
    Column("name_en", String(64)),
)

case_events = Table(
    "case_events", metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("event_id", String(64), nullable=False, unique=True, comment="idempotency key"),
    Column("stream_id", String(64), comment="Redis stream entry id"),
    Column("case_id", String(20), nullable=False, index=True),
    Column("type", String(16), nullable=False),
    Column("at", TS, nullable=False),
    Column("actor", String(64), nullable=False),
    Column("body", Text, nullable=False, comment="JSON object"),
    Index("ix_case_events_type_at", "type", "at"),           # migration 0002_report_indexes
    Index("ix_case_events_case_id_id", "case_id", "id"),     # migration 0002_report_indexes
)

cases = Table(
    "cases", metadata,
    Column("case_id", String(20), primary_key=True),
    Column("stage", String(16), nullable=False),
    Column("category_code", String(8), ForeignKey("categories.code"), nullable=False),
    Column("urgency", String(8), nullable=False, default="normal"),
    Column("department_code", String(32), ForeignKey("departments.code")),
    Column("grid_code", String(15), ForeignKey("grids.code"), nullable=False),
    Column("community_code", String(12), nullable=False),
    Column("street_code", String(9), nullable=False),
    Column("lon", Float, nullable=False),
    Column("lat", Float, nullable=False),
    Column("source", String(16), nullable=False, comment="inspector, hotline12345, app, camera, phone, api"),
    Column("description", Text),
    Column("reporter", String(64)),
    Column("reported_at", TS, nullable=False),
    Column("filed_at", TS),
    Column("dispatched_at", TS),
    Column("first_dispatched_at", TS, comment="first dispatch: the period the case is evaluated in (migration 0002)"),
    Column("handled_at", TS),
    Column("verified_at", TS),
    Column("closed_at", TS),
    Column("rejected_at", TS),
    Column("stage_entered_at", TS, nullable=False),
    Column("warn_at", TS, comment="80% of the current stage's limit"),
    Column("deadline_at", TS, comment="deadline of the current stage"),
    Column("handle_deadline_at", TS, comment="deadline of the last dispatch"),
    Column("handled_on_time", Boolean),
    Column("rework_count", Integer, nullable=False, default=0),
    Column("return_count", Integer, nullable=False, default=0),
    Column("extension_count", Integer, nullable=False, default=0),
    Column("suspended_from", String(16)),
    Column("version", Integer, nullable=False),
    Column("updated_at", TS, nullable=False, comment="time of the last event"),
    Column("last_actor", String(64)),
    Column("component_code", String(16), comment="the city component (部件) the case names, if any (migration 0004_components)"),
    Column("visit_result", String(16), comment="latest return visit (回访): satisfied, basically, unsatisfied "
                                                "(migration 0004_evidence)"),
    Column("visited_at", TS, comment="time of the latest return visit (migration 0004_evidence)"),
    Column("visit_count", Integer, nullable=False, default=0, server_default="0",
           comment="return visits recorded (migration 0004_evidence)"),
    Index("ix_cases_stage_deadline", "stage", "deadline_at"),
    Index("ix_cases_updated_at", "updated_at"),
    Index("ix_cases_department_stage", "department_code", "stage"),
    Index("ix_cases_closed_at", "closed_at"),
    Index("ix_cases_first_dispatched_at", "first_dispatched_at"),
    Index("ix_cases_first_dispatched_touched", "first_dispatched_at",
          postgresql_where=text("return_count > 0 OR rework_count > 0"),
          sqlite_where=text("return_count > 0 OR rework_count > 0")),
    Index("ix_cases_reported_at", "reported_at"),            # migration 0002_report_indexes
    Index("ix_cases_grid_reported", "grid_code", "reported_at"),  # migration 0002_report_indexes
    Index("ix_cases_component_code", "component_code"),     # migration 0004_components
    Index("ix_cases_visited_at", "visited_at"),                   # migration 0004_evidence
    # the cases waiting for their department, by first dispatch (migration 0004_department_rollup):
    # /departments' backlog and "overdue now" read from this index alone
    Index("ix_cases_waiting", "first_dispatched_at", "department_code", "handle_deadline_at",
          postgresql_where=text("stage = 'dispatched'"), sqlite_where=text("stage = 'dispatched'")),
)

dead_letters = Table(
    "dead_letters", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("stream_id", String(64), comment="Redis stream entry id: one dead letter per entry"),
    Column("event_id", String(64)),
    Column("reason", Text, nullable=False),
    Column("fields", Text, nullable=False, comment="the raw entry as JSON (bytes shown as \\x escapes)"),
    Column("recorded_at", TS, nullable=False, comment="when the entry was recorded on the stream (its id)"),
    Index("uq_dead_letters_stream_id", "stream_id", unique=True),
)

projection_state = Table(
    "projection_state", metadata,
    Column("name", String(32), primary_key=True, comment="'stream': the one stream this database projects"),
    Column("last_stream_id", String(64), comment="the last entry processed; the projection follows stream order"),
)

live_counts = Table(
    "live_counts", metadata,
    Column("scope", String(8), primary_key=True, comment="all, street, grid or dept"),
    Column("key", String(32), primary_key=True),
    Column("stage", String(16), primary_key=True),
    Column("n", Integer, nullable=False),
)

daily_flow = Table(
    "daily_flow", metadata,
    Column("day", Date, primary_key=True, comment="local (Asia/Shanghai) date"),
    Column("type", String(16), primary_key=True),
    Column("n", Integer, nullable=False),
)

users = Table(
    "users", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("role", String(16), nullable=False),
    Column("password_hash", String(256)),
    Column("department_code", String(32)),
    Column("scope", String(12), comment="sub-centre: a street (9 digits) or community (12) code; NULL = the whole district (migration 0003_scope)"),
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", TS, nullable=False),
    Column("session_version", Integer, nullable=False, default=0, server_default=text("0"),
           comment="bumped by log-out, password change and deactivation: every older session ends "
                   "(migration 0004_sessions)"),
)

api_tokens = Table(
    "api_tokens", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", TS, nullable=False),
    Column("last_used_at", TS),
    Column("label", String(64), comment="what the token is for (a wall's place, a client's name)"),
    Column("expires_at", TS, comment="no use after this instant; NULL = no expiry (migration 0004_sessions)"),
    Column("revoked_at", TS, comment="revoked: refused from the next request on"),
)

audit_log = Table(
    "audit_log", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", TS, nullable=False),
    Column("user_name", String(64), nullable=False),
    Column("role", String(16)),
    Column("action", String(32), nullable=False),
    Column("case_id", String(20), index=True),
    Column("remote_addr", String(64)),
    Column("before", Text),
    Column("after", Text),
    Column("outcome", String(16), nullable=False, comment="ok, refused, conflict, error"),
    Column("message", Text),
)

report_acts = Table(
    "report_acts", metadata,
    Column("event_id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False,
           comment="case_events.id of an act (filed, rejected, dispatched, verified, rework, closed)"),
    Column("type", String(16), nullable=False),
    Column("actor", String(64), nullable=False),
    Column("at", TS, nullable=False),
    Column("start_day", Integer, comment="local day number (days since 1970-01-01) its stage clock started"),
    Column("shift", String(8), comment="day, evening or night: the shift on duty when its clock started"),
    Column("on_time", Integer, comment="1 within the stage's time limit, 0 late, NULL no clock start"),
    Index("ix_report_acts_type_at", "type", "at"),
    comment="derived by the reports (migration 0002_report_indexes); rebuilt when limits or calendar change",
)

# The acts counted per local day (migration 0004_inspector_rollup): what /inspectors and its
# API aggregate over a window reads ~10 times fewer rows from here than from report_acts.
# Kept with report_acts by the same refresh (datasource/services/report_rollup.py); acts
# without a known clock start (on_time NULL) are left out, as the reports leave them out.
report_acts_daily = Table(
    "report_acts_daily", metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("day", Integer, nullable=False, comment="local day number (days since 1970-01-01) of the act"),
    Column("type", String(16), nullable=False),
    Column("actor", String(64), nullable=False),
    Column("start_day", Integer, comment="local day number its stage clock started (report_acts.start_day)"),
    Column("shift", String(8), comment="the shift on duty when its clock started (report_acts.shift)"),
    Column("acts", Integer, nullable=False, comment="acts of that day, type, actor, clock-start day and shift"),
    Column("on_time", Integer, nullable=False, comment="of them, within the stage's time limit"),
    Index("ix_report_acts_daily_day", "day", "type"),
    comment="daily roll-up of report_acts (migration 0004_inspector_rollup)",
)

# The department evaluation's cohort counted per local day of first dispatch and department
# (migration 0004_department_rollup): what /departments and its API aggregate over a window
# — days × departments rows instead of every case of the window.  Kept by the reports'
# refresh (datasource/services/department_rollup.py), recounted per touched day and
# department from ``cases``.  The handled cases' working seconds are kept as a sorted array
# so that the median and p90 stay exact; the figures that depend on the moment asked
# (overdue now, backlog) are read from the waiting cases (``ix_cases_waiting``).
report_departments_daily = Table(
    "report_departments_daily", metadata,
    Column("day", Integer, primary_key=True, comment="local day number (days since 1970-01-01) of the first dispatch"),
    Column("department", String(32), primary_key=True,
           comment="the department the cases are dispatched to now (returns: the one that returned)"),
    Column("due", Integer, nullable=False, comment="cases first dispatched that day, dispatched to it now"),
    Column("handled", Integer, nullable=False),
    Column("handled_on_time", Integer, nullable=False),
    Column("closed", Integer, nullable=False),
    Column("reworks", Integer, nullable=False),
    Column("extensions", Integer, nullable=False),
    Column("returns", Integer, nullable=False, comment="returns (退回) it made of that day's cases"),
    Column("handling", LargeBinary, nullable=False,
           comment="handled cases' working seconds from first dispatch to handling: sorted int32, little-endian"),
    comment="daily roll-up of the department evaluation (migration 0004_department_rollup)",
)

report_state = Table(
    "report_state", metadata,
    Column("key", String(32), primary_key=True),
    Column("n", BigInteger, comment="e.g. the last case_events.id recorded in report_acts"),
    Column("value", Text, comment="e.g. the digest of the limits and calendar the acts were judged with"),
)

OPEN_STAGES = ("reported", "filed", "dispatched", "handled", "verified", "suspended")

# The leaders' daily briefing (migration 0002): its archive, and the indexes its day
# figures read through — events of a type in a time range, and cases reported in a time
# range (covering the columns the briefing counts by, so PostgreSQL reads the index only).
briefings = Table(
    "briefings", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("day", Date, nullable=False, comment="local (Asia/Shanghai) date the briefing is about"),
    Column("lang", String(2), nullable=False, comment="zh or en"),
    Column("path", Text, nullable=False, comment="PDF file, relative to the data folder"),
    Column("size", Integer, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("generated_at", TS, nullable=False),
    Column("as_of", TS, nullable=False, comment="the data's time: figures 'by now' mean by this instant"),
    Column("figures", Text, nullable=False, comment="the briefing's data as JSON (headlines, sections)"),
    Column("scope", String(12), nullable=False, server_default="",
           comment="the area: '' = the whole district, else a street or community code (migration 0004_inspector_rollup)"),
    UniqueConstraint("day", "lang", "scope", name="uq_briefings_day_lang_scope"),
)
# /inspectors' cases of a window per grid and reporter, from the index alone (migration
# 0004_inspector_rollup): PostgreSQL reads ~7 times fewer pages than from the table.
Index("ix_cases_reported_people", cases.c.reported_at, cases.c.grid_code, cases.c.source, cases.c.reporter,
      cases.c.filed_at, cases.c.rejected_at)
Index("ix_cases_reported", cases.c.reported_at, cases.c.street_code, cases.c.grid_code, cases.c.category_code,
      cases.c.source, cases.c.urgency, cases.c.case_id)

# City components (城市部件, migration 0004_components): the coded inventory behind component
# cases — GB/T 30428.2 codes, the three departments of each, loaded from the scenario's
# components.csv.gz at start-up (or imported from a census with `citygrid components import`).
components = Table(
    "components", metadata,
    Column("code", String(16), primary_key=True, comment="16 digits: district 110101 + major + minor class + serial"),
    Column("kind", String(8), nullable=False, comment="minor class as the scenario's category code (C0118 路灯)"),
    Column("name", String(128)),
    Column("lon", Float, nullable=False, comment="GCJ-02"),
    Column("lat", Float, nullable=False, comment="GCJ-02"),
    Column("grid_code", String(15), nullable=False, comment="the unit grid the position lies in"),
    Column("community_code", String(12), nullable=False),
    Column("street_code", String(9), nullable=False),
    Column("owner_department", String(32), comment="主管 owner"),
    Column("title_department", String(32), comment="权属 title holder"),
    Column("maintainer_department", String(32), comment="养护 maintainer: a component case goes there first"),
    Column("status", String(16), nullable=False, comment="in_service, damaged or removed"),
    Column("installed_on", Date),
    Column("origin", String(16), comment="facility / green_space (real position), generated, or import"),
    Column("updated_at", TS, nullable=False),
    Index("ix_components_kind_lon_lat", "kind", "lon", "lat"),
    Index("ix_components_lon_lat", "lon", "lat"),
    Index("ix_components_street_kind", "street_code", "kind"),
    Index("ix_components_grid", "grid_code"),
)
