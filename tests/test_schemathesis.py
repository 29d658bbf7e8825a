"""Schemathesis, a tool nobody here wrote, against the served OpenAPI document (issue 12, item 8).

The run is the one ``st run`` makes — the same engine, every phase (examples, coverage,
fuzzing and the stateful phase that follows the document's response ``links``: report → file
→ dispatch → handle → verify → close …), the same warning rules — but in-process against the
WSGI app (``schemathesis.openapi.from_wsgi``) on real Redis and SQLite, as an admin
with a bearer token.  It passes when no check fails (no 5xx, no undocumented status, no answer
off its documented schema) and Schemathesis gives no warning at all — above all neither "missing
test data" nor "schema validation mismatch": in every phase, some of its generated requests for
every operation reached the logic and were carried out.

What makes that so is the document telling the truth (required fields, enums, ranges, formats,
conditions such as "a note when unsatisfied", the photo types as the form's ``encoding``, the
``links`` from one command to the next), and the data the operations need, prepared here: a
case in the stage each command needs, a closed public case for the return visit, the
component the document names as its example.  Two things no JSON Schema can say are given to
Schemathesis as strategies, as its documentation suggests: the photos are real images of the
documented types, and a ``date-time`` is an instant after "now", each later than the one before
(an extension must move the case's deadline later).

Bounded: :data:`MAX_EXAMPLES` per operation and phase, deterministic (the same requests on
every run).  Measured: 2 min 1 s with the default 5 examples on two shared cores (load
average 11, seven other test runs beside it); see the README, "Security".
"""
from __future__ import annotations

import io
import itertools
import os
from datetime import datetime, timedelta, timezone

import pytest

from dashboard.domain.permissions import ACTIONS
from dashboard.web.api_evidence import PHOTO_TYPES
from dashboard.web.api_models import EXAMPLE_COMPONENT
from datasource.services import accounts
from datasource.services.commands import CommandService
from tests import components_data
from tests.helpers import worker_running
from tests.test_permissions import ADMIN, LAT, LON, prepare

schemathesis = pytest.importorskip("schemathesis")

from schemathesis.cli.commands.run.context import ExecutionContext  # noqa: E402
from schemathesis.config import SchemathesisConfig  # noqa: E402
from schemathesis.engine import Status, events, from_schema  # noqa: E402
from schemathesis.core.media_types import MEDIA_TYPE_STRATEGIES  # noqa: E402
from schemathesis.specs.openapi.formats import unregister_string_format  # noqa: E402

MAX_EXAMPLES = int(os.environ.get("CITYGRID_SCHEMATHESIS_EXAMPLES", "5"))
STATEFUL_STEPS = 12
FROM_ANSWERS = {"extra-data-sources": {"responses": True}, "operation-ordering": "auto"}
#: the warnings that mean generated requests did not reach the logic (every kind fails the test;
#: these two are the ones the test exists for)
MUST_NOT_WARN = ("missing_test_data", "validation_mismatch")


@pytest.fixture
def database_url(tmp_path):
    """SQLite only: the run is about the HTTP contract, and both databases are covered by every
    other API test (this one alone would double the suite's longest test)."""
    return f"sqlite:///{tmp_path / 'citygrid.db'}"


def run_schemathesis(app, headers: dict, parameters: dict[str, dict]) -> tuple[ExecutionContext, list[str]]:
    """One full Schemathesis run in-process; its context (statistics, warnings) and failures.
    ``parameters``: operationId → the path parameters it is called with (a case in the stage
    that operation needs, the seeded component)."""
    config = SchemathesisConfig.from_dict({
        "headers": headers,
        # known-real values (Schemathesis's "fuzz dictionaries"): the component a report may name
        "dictionaries": {"components": {"values": [EXAMPLE_COMPONENT]}},
        "operations": [{"include-operation-id": operation, "parameters": values}
                       for operation, values in parameters.items()],
        "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True, "database": "none"},
        # case ids seen in earlier answers (a report's 201) feed the case-scoped operations
        "phases": {"examples": {"enabled": True, "fill-missing": True, **FROM_ANSWERS},
                   "coverage": {"enabled": True, **FROM_ANSWERS}, "fuzzing": {"enabled": True, **FROM_ANSWERS},
                   "stateful": {"enabled": True, "max-steps": STATEFUL_STEPS}},
        "checks": {"enabled": False, "not_a_server_error": {"enabled": True}, "status_code_conformance": {"enabled": True},
                   "content_type_conformance": {"enabled": True}, "response_schema_conformance": {"enabled": True},
                   "response_headers_conformance": {"enabled": True}, "negative_data_rejection": {"enabled": True},
                   "use_after_free": {"enabled": True}, "ensure_resource_availability": {"enabled": True}},
    })
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app.server, config=config)
    ctx = ExecutionContext(config=schema.config)
    failures: list[str] = []
    for event in from_schema(schema).execute():
        ctx.on_event(event)
        if isinstance(event, events.ScenarioFinished) and event.status in (Status.FAILURE, Status.ERROR):
            for check in (c for node in event.recorder.checks.values() for c in node):
                if check.status == Status.FAILURE and check.failure_info is not None:
                    case = check.failure_info.code_sample if hasattr(check.failure_info, "code_sample") else ""
                    failures.append(f"{event.phase.value} {event.label}: {check.name}: "
                                    f"{check.failure_info.failure.title} {check.failure_info.failure.message} "
                                    f"{case}"[:900])
        elif isinstance(event, events.NonFatalError):
            failures.append(f"error {event.label}: {event.info.format()[:600]}")
    return ctx, failures


def future_instants(now):
    """Deadlines as a person sets them: from two weeks after ``now`` on (past any default
    deadline, holidays included), each drawn a little later than the one before (an extension
    must move the deadline later, so a later request succeeds only after the earlier ones), in
    Beijing time.  The document says ``date-time``;
    "in the future, later than the current deadline" is a rule JSON Schema cannot state, so the
    run draws its date-times where the service's rule lets them through — the coverage and
    negative modes still send the boundary and malformed ones.

    ``now`` is the later of the business clock and the real one: answers carry both (the
    audit trail is real time), and Schemathesis sends values seen in answers too — an
    extension to one of those must not put the case's deadline beyond every later draw."""
    from hypothesis import strategies as st
    zone = timezone(timedelta(hours=8))
    drawn = itertools.count()
    return st.just(None).map(lambda _: (now + timedelta(days=14, minutes=10 * next(drawn)))
                             .astimezone(zone).replace(microsecond=0).isoformat())


def photos():
    """Real images of every type the document names (its ``encoding`` of ``photo``), a few
    colours each: the service checks a photo by its content, as it should.  Schemathesis puts
    what such a strategy draws in the form field as its value, and ``photo`` is an array of
    files (the field repeats), so each draw is a list of one to three photos of that type."""
    from hypothesis import strategies as st
    from PIL import Image
    kinds = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}

    def picture(kind: str, colour: tuple) -> bytes:
        out = io.BytesIO()
        Image.new("RGB", (48, 36), colour).save(out, kind)
        return out.getvalue()
    colours = [(200, 60, 40), (40, 160, 90), (30, 60, 200)]
    return {media: st.lists(st.sampled_from([picture(kinds[media], c) for c in colours]), min_size=1, max_size=3)
            for media in PHOTO_TYPES}


def prepare_all(system, service: CommandService) -> dict[str, dict]:
    """The path parameters of every operation that needs prepared data (operationId → values)."""
    cases = {action: prepare(service, action)[0] for action in ACTIONS if action != "report"}
    cases["getCase"] = cases["getRecommendation"] = prepare(service, "dispatch")[0]
    cases["attachPhotos"] = cases["listPhotos"] = prepare(service, "file")[0]
    # a return visit: a case the public reported (the app), closed, in the reporting database
    visited = service.report(ADMIN, "E0102", LON, LAT, "return visit", source="app").case_id
    service.file(ADMIN, visited)
    service.dispatch(ADMIN, visited, "sanitation")
    service.handle(ADMIN, visited, "已处置")
    service.verify(ADMIN, visited, "pass")
    service.close(ADMIN, visited)
    cases["recordVisit"] = visited
    system.worker().drain()
    components_data.load(system.engine, [components_data.by_code(EXAMPLE_COMPONENT)])
    return {"getComponent": {"path.component": EXAMPLE_COMPONENT}, "report": {"body.component": {"dictionary": "components"}},
            **{operation: {"path.case_id": case_id} for operation, case_id in cases.items()}}


def test_schemathesis_all_phases_clean(system, app, clock):
    accounts.add_user(system.engine, "fuzzer", "admin", "password-123")
    token = accounts.create_token(system.engine, "fuzzer")
    parameters = prepare_all(system, CommandService(system))
    schemathesis.openapi.format("date-time", future_instants(max(clock(), datetime.now(timezone.utc))))
    for media, strategy in photos().items():
        schemathesis.openapi.media_type(media, strategy)
    try:   # the reporting database follows, as in production (recommendations need it)
        with worker_running(system):
            # the WSGI transport does not undo Flask-Compress's gzip/brotli, so ask for plain bodies
            ctx, failures = run_schemathesis(app, {"Authorization": f"Bearer {token}",
                                                   "Accept-Encoding": "identity"}, parameters)
    finally:
        unregister_string_format("date-time")
        for media in PHOTO_TYPES:
            MEDIA_TYPE_STRATEGIES.pop(media, None)
    warned = {kind: labels for kind, labels in ctx.warnings.as_labels().items() if labels}
    assert failures == [], "\n".join(dict.fromkeys(failures))
    assert not {kind: warned[kind] for kind in MUST_NOT_WARN if kind in warned}, warned
    assert not warned, warned
    assert ctx.statistic.total_cases > 300, ctx.statistic.total_cases
    assert "stateful" in {name.value for name, (status, _) in ctx.phases.items() if status is not Status.SKIP}
