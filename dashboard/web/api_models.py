"""The shapes of ``/api/v1``: one pydantic model per command body and query, one per answer.

The models do two jobs from one definition: :func:`parse_body` / :func:`parse_query` validate
what a program sends, and :mod:`dashboard.web.openapi` turns ``model_json_schema()`` into the
OpenAPI document, so what is documented is what is checked.

They live at the door (``dashboard.web``), not in the command service: they describe JSON over
HTTP (strict JSON types, unknown fields refused, defaults a program may leave out), while
:class:`~datasource.services.commands.CommandService` keeps taking plain keyword arguments from
the pages and keeps the rules of meaning (known category and department, a deadline in the
future, a reason where one is needed) for every caller.  A model checks only the form.

Pydantic's errors are turned into the API's one-line messages by
:func:`dashboard.web.api_messages.message_for`.  Rules JSON Schema can state but a field
cannot (a position *or* a component; a reason when a check fails) are the models'
``json_schema_extra`` — stated in the document, enforced by the service.
"""
from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, RootModel, ValidationError
from pydantic_core import PydanticCustomError

from dashboard.domain.inputs import InputRefused, parse_instant
from dashboard.domain.lifecycle import Stage
from dashboard.domain.limits import URGENCIES
from dashboard.domain.projection import SOURCES
from datasource.services.audit import OUTCOMES
from dashboard.web.api_messages import message_for
from datasource.services.command_types import DESCRIPTION_MAX, TEXT_MAX, Msg

MAX_BODY = 64 * 1024  # bytes of a request body; more → 413
STAGES = tuple(s.value for s in Stage)
EXAMPLE_TIME = "2026-11-24T17:30:00+08:00"
# PostgreSQL text cannot hold NUL, so a NUL typed into a note would poison the reporting database.
NO_NUL = r"^[^\x00]*$"


class InvalidInput(ValueError):
    """A body or query the models refuse; ``msg`` is the one-line answer (400)."""

    def __init__(self, msg: Msg):
        self.msg = msg
        super().__init__(msg.render("en"))


def _instant(value: str) -> str:
    """Only the form of a time (the domain's :func:`~dashboard.domain.inputs.parse_instant`: ISO 8601
    with an offset, 2000 … 2099); whether it is late enough is the service's."""
    if not value.strip():
        return value  # blank = not given: the service falls back to the default deadline
    try:
        parse_instant(value, "time")
    except InputRefused as exc:
        values = {k: v for k, v in exc.values.items() if k != "field"}
        raise PydanticCustomError(exc.key, str(exc), values) from None
    return value


# No ``examples``: a fixed instant is in the past one day, and "later than the case's current
# deadline" changes with every extension — a generator must draw times after "now" (the
# Schemathesis run registers such a strategy for ``date-time``).
Instant = Annotated[str, AfterValidator(_instant), Field(
    min_length=1, json_schema_extra={"format": "date-time"},
    description="ISO 8601 with UTC offset, e.g. " + EXAMPLE_TIME)]
#: an optional time: blank counts as not given (the service's default applies)
BlankOrInstant = Annotated[str, AfterValidator(_instant), Field(
    json_schema_extra={"anyOf": [{"format": "date-time"}, {"maxLength": 0}]},
    description="ISO 8601 with UTC offset, e.g. " + EXAMPLE_TIME + "; blank or null: not given")]
Note = Annotated[str | None, Field(max_length=TEXT_MAX, pattern=NO_NUL, description="free text, shown as text")]
# a reason must keep a visible character once the edge rule has cleaned it (blanks and controls go)
SOME_TEXT = r"^[^\x00]*[^\x00-\x20\x7f-\x9f][^\x00]*$"
Reason = Annotated[str, Field(min_length=1, max_length=TEXT_MAX, pattern=SOME_TEXT,
                              description="why; required (blanks and control characters alone are no reason)")]
Code = Annotated[str, Field(min_length=1, max_length=64, pattern=NO_NUL)]
#: a component code of the committed inventory (the documents' example; tests seed it)
EXAMPLE_COMPONENT = "1101010118000042"
#: the form :func:`dashboard.domain.components.parse_code` accepts: district 6 digits, major class
#: 01–06, minor class 01–99, serial 000001–999999 (a serial of six zeros spelt without look-ahead)
COMPONENT_CODE = (r"^[0-9]{6}0[1-6](0[1-9]|[1-9][0-9])("
                  + "|".join(f"[0-9]{{{i}}}[1-9][0-9]{{{5 - i}}}" for i in range(6)) + ")$")


def _integral(value):
    """JSON has one number type: ``3.0`` is the integer 3 (JSON Schema's ``integer`` says so too);
    ``3.5``, ``"3"`` and ``true`` stay refused by the strict model."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


#: an expected case version: a positive JSON integer (409 when the case moved on)
Version = Annotated[Annotated[int, Field(ge=1)] | None, BeforeValidator(_integral),
                    Field(description="expected version of the case: 409 if it moved on")]


# ---------------------------------------------------------------------------- request bodies
class Body(BaseModel):
    """JSON as sent: no coercion (``"2"`` is not a number, ``true`` is not 1), no unknown fields."""

    model_config = ConfigDict(strict=True, extra="forbid", allow_inf_nan=False)


class StageBody(Body):
    """A command that moves a case from stage to stage (optimistic concurrency with ``version``)."""

    version: Version = None


class ReportBody(Body):
    """Report a new case (上报). Position in GCJ-02 lon/lat inside a unit grid."""

    # stated in the document as JSON Schema says it: a position, or a component (whose position is used)
    model_config = ConfigDict(json_schema_extra={"anyOf": [
        {"required": ["lon", "lat"], "properties": {"lon": {"type": "number"}, "lat": {"type": "number"}}},
        {"required": ["component"], "properties": {"component": {"type": "string"}, "lon": {"type": "null"},
                                                   "lat": {"type": "null"}}}]})

    category: Code = Field(description="category code", examples=["E0102"])
    lon: float | None = Field(None, description="GCJ-02 longitude (may be left out when `component` is given)",
                              examples=[116.4105])
    lat: float | None = Field(None, description="GCJ-02 latitude (may be left out when `component` is given)",
                              examples=[39.9168])
    description: str | None = Field("", max_length=DESCRIPTION_MAX, pattern=NO_NUL)
    source: Literal[SOURCES] | None = "api"
    urgency: Literal[URGENCIES] | None = "normal"
    component: str | None = Field(None, pattern=COMPONENT_CODE, description="code of the city component (部件) "
                                  "the case is about (it must be in the inventory); its position is used when "
                                  "lon/lat are left out", examples=[EXAMPLE_COMPONENT])


class FileBody(StageBody):
    """File a reported case (立案)."""

    note: Note = ""


class RejectBody(StageBody):
    """Reject a report (不予立案); `reason` required."""

    reason: Reason


class DispatchBody(StageBody):
    """Dispatch a filed case to a department (派遣). `deadline`: in the future; default from the time-limit table."""

    department: Code = Field(description="department code", examples=["sanitation"])
    deadline: BlankOrInstant | None = None
    note: Note = ""


class ReturnBody(StageBody):
    """Return a wrongly routed case (退回), by the department it was dispatched to; `reason` required."""

    reason: Reason


class HandleBody(StageBody):
    """Report the case handled (处置), by the department it was dispatched to; `note` (what was done) required."""

    # the domain's required input (dashboard.domain.lifecycle.REQUIRED_INPUT), stated at the door
    note: Annotated[str, Field(min_length=1, max_length=TEXT_MAX, pattern=SOME_TEXT,
                               description="what was done; required", examples=["已清运"])]


class VerifyBody(StageBody):
    """On-site check (核查): `result` pass → verified, fail → rework (返工, `reason` required)."""

    # stated in the document as JSON Schema says it: when result is fail, a reason with text
    model_config = ConfigDict(json_schema_extra={
        "if": {"properties": {"result": {"const": "fail"}}, "required": ["result"]},
        "then": {"required": ["reason"], "properties": {"reason": {"type": "string", "pattern": SOME_TEXT}}}})

    result: Literal["pass", "fail"]
    reason: Note = Field("", description="required when result is fail")


class CloseBody(StageBody):
    """Close a verified case (结案)."""

    note: Note = ""


class ExtendBody(StageBody):
    """Move the current stage's deadline later (延期)."""

    until: Instant = Field(description="the new deadline: later than the current one (ISO 8601 with offset)")
    reason: Note = ""


class SuspendBody(StageBody):
    """Suspend a case (挂账); `reason` required."""

    reason: Reason


class ResumeBody(StageBody):
    """Resume a suspended case in the stage it was suspended from."""

    note: Note = ""


class RequestBody(Body):
    """A department asks for an extension (`kind`=extend, `until`) or a suspension (`kind`=suspend)."""

    model_config = ConfigDict(json_schema_extra={
        "if": {"properties": {"kind": {"const": "extend"}}, "required": ["kind"]},
        "then": {"required": ["until"], "properties": {"until": {"type": "string", "minLength": 1}}}})

    kind: Literal["extend", "suspend"]
    until: BlankOrInstant | None = Field(None, description="for kind=extend: the deadline asked for (ISO 8601 with "
                                         "offset), later than the current one")
    reason: Reason


class DeclineBody(Body):
    """Decline a pending extension/suspension request."""

    reason: Note = ""


#: action → the model of its body (every action of :data:`dashboard.domain.permissions.ACTIONS`).
BODIES: dict[str, type[Body]] = {
    "report": ReportBody, "file": FileBody, "reject": RejectBody, "dispatch": DispatchBody, "return": ReturnBody,
    "handle": HandleBody, "verify": VerifyBody, "close": CloseBody, "extend": ExtendBody, "suspend": SuspendBody,
    "resume": ResumeBody, "request": RequestBody, "decline": DeclineBody,
}


# ---------------------------------------------------------------------------- queries
class Query(BaseModel):
    """Query-string parameters: text by nature, so numbers are parsed (not strict); others ignored."""

    model_config = ConfigDict(extra="ignore")


class CaseListQuery(Query):
    stage: list[Literal[STAGES]] = Field(["filed"], description="repeat for several stages")
    department: Code | None = Field(None, description="department code (a department user sees only its own)")
    limit: int = Field(200, description="at most this many rows (1 … 2000; with q: per page, 1 … 100)")
    q: str | None = Field(None, max_length=100, description="search every stage by case id, address, description "
                          "words, reporter (each word must match; stage is then ignored)")
    page: int = Field(1, description="with q: the page of the results (1 …)")


class AuditQuery(Query):
    limit: int | None = Field(None, description="rows, newest first (1 … 100000; default 1000, CSV 100000)")
    case_id: Code | None = None
    user: Code | None = None
    outcome: Literal[OUTCOMES] | None = None
    action: Code | None = None
    format: Literal["json", "csv"] = Field("json", description="csv: a spreadsheet-safe CSV download")


# ---------------------------------------------------------------------------- answers
class Answer(BaseModel):
    """An answer; fields added later do not break clients (additional properties allowed)."""

    model_config = ConfigDict(extra="allow")


StageName = Literal[STAGES]
Time = Annotated[str, Field(json_schema_extra={"format": "date-time"}, examples=[EXAMPLE_TIME])]


class Error(BaseModel):
    """Every refusal: a code word, the HTTP status, one line for people (``?lang=zh``), the case's stage if known."""

    model_config = ConfigDict(extra="forbid")
    error: str = Field(examples=["conflict"])
    status: int = Field(examples=[409])
    message: str
    stage: StageName | None = None


class CommandResult(Answer):
    """A command carried out: the case's stage before and after, its new version, the stream entry."""

    case_id: str
    action: str
    before: StageName | None
    after: StageName
    version: int
    entry_id: str
    at: Time
    event: str
    department: str | None
    deadline: Time | None


class RequestEntry(Answer):
    """A pending extension or suspension request."""

    case_id: str
    kind: Literal["extend", "suspend"]
    reason: str
    by: str
    department: str | None
    at: Time
    until: Time | None


class Declined(Answer):
    case_id: str
    declined: bool


class CaseCommand(Answer):
    """The command side's view (may be ahead of the reporting database)."""

    stage: StageName | None
    version: int
    last_actor: str | None
    last_at: Time | None
    last_type: str | None


class TimelineEntry(Answer):
    type: str
    at: Time
    actor: str
    body: dict[str, Any]
    stream_id: str | None


class CaseRow(Answer):
    """A case as queued: reporting-database columns plus its traffic light."""

    case_id: str
    stage: StageName
    category_code: str
    urgency: str
    department_code: str | None
    street_code: str
    lon: float
    lat: float
    description: str | None
    reported_at: Time
    deadline_at: Time | None
    version: int
    light: Literal["green", "yellow", "red", "none"]


class Case(Answer):
    """One case: its reporting row (when the worker has seen it), timeline, names and command state."""

    case_id: str
    stage: StageName | None
    projected: bool
    timeline: list[TimelineEntry]
    command: CaseCommand
    light: Literal["green", "yellow", "red", "none"] | None = None
    names: dict[str, str | None] | None = None
    version: int | None = None


class CaseList(Answer):
    cases: list[CaseRow]
    count: int
    total: int | None = Field(None, description="with q: every case that matches")
    page: int | None = None
    pages: int | None = None


class Candidate(Answer):
    code: str
    name_zh: str
    name_en: str | None
    load: int
    handled: int
    on_time_rate: float | None
    recommended: bool
    why: str
    reasons: list[str] = Field([], description="maintainer, nearest, routing, street, history, related; "
                                               "empty: never handled the category")
    why_zh: str = ""
    why_en: str = ""
    category_cases: int = 0


class Recommendation(Answer):
    """Departments to dispatch to (the component's maintainer, then routing, street office, history) with load,
    30-day on-time rate and reasons; warnings about the first; the deadline."""

    department: str | None
    deadline: Time | None
    candidates: list[Candidate]
    warnings: list[dict] = []
    component: dict | None = None


class StageCounts(RootModel[dict[str, int]]):
    """stage → number of cases."""


class RequestList(Answer):
    requests: list[RequestEntry]


class Probe(Answer):
    ok: bool
    ms: float | None = None
    error: str | None = None


class Worker(Answer):
    group: str
    lag: int | None


class Health(Answer):
    """Redis, database, worker lag (entries not yet processed by the consumer group), dead letters."""

    ok: bool
    redis: Probe
    database: Probe
    worker: Worker
    dead_letters: int | None


class AuditRow(Answer):
    id: int
    at: Time
    user_name: str
    role: str | None
    action: str
    case_id: str | None
    outcome: str
    message: str | None


class AuditList(Answer):
    rows: list[AuditRow]
    count: int


def parse_body(action: str, body: dict) -> dict:
    """The command's keyword arguments from a JSON object (defaults filled, nulls dropped)."""
    model = BODIES[action]
    try:
        parsed = model.model_validate(body)
    except ValidationError as exc:
        raise InvalidInput(message_for(model, exc.errors(include_url=False))) from None
    return parsed.model_dump(exclude_none=True)


def parse_query(model: type[Query], args) -> Query:
    """A query model from Flask's ``request.args``; an empty parameter counts as not given."""
    data = {}
    for name, field in model.model_fields.items():
        values = [v for v in args.getlist(name) if v != ""]
        if values:
            data[name] = values if getattr(field.annotation, "__origin__", None) is list else values[0]
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput(message_for(model, exc.errors(include_url=False))) from None
