"""Schemathesis, a tool nobody here wrote, against the served OpenAPI document (issue 12, item 8).

The run is the one ``st run`` makes — the same engine, every phase (examples, coverage,
fuzzing and the stateful phase that follows the document's response ``links``: report → file
→ dispatch → handle → verify → close …), the same warning rules — but in-process against the
WSGI app (``schemathesis.openapi.from_wsgi``) on real Redis and both databases, as an admin
with a bearer token.  It passes when no check fails (no 5xx, no undocumented status, no answer
off its documented schema) and Schemathesis warns neither "missing test data" nor "schema
validation mismatch" — i.e. its generated requests reached the logic.

Bounded: :data:`MAX_EXAMPLES` per operation and phase, deterministic (the same requests on
every run); the whole run stays under two minutes on the CI machine.
"""
from __future__ import annotations

import os

import pytest

from datasource.services import accounts

schemathesis = pytest.importorskip("schemathesis")

from schemathesis.cli.commands.run.context import ExecutionContext  # noqa: E402
from schemathesis.config import SchemathesisConfig  # noqa: E402
from schemathesis.engine import Status, events, from_schema  # noqa: E402

MAX_EXAMPLES = int(os.environ.get("CITYGRID_SCHEMATHESIS_EXAMPLES", "15"))
STATEFUL_STEPS = 12
#: warnings that mean the generated requests did not reach the logic
MUST_NOT_WARN = ("missing_test_data", "validation_mismatch")


def run_schemathesis(app, headers: dict) -> tuple[ExecutionContext, list[str]]:
    """One full Schemathesis run in-process; its context (statistics, warnings) and failures."""
    config = SchemathesisConfig.from_dict({
        "headers": headers,
        "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True, "database": "none"},
        "phases": {"examples": {"enabled": True, "fill-missing": True}, "coverage": {"enabled": True},
                   "fuzzing": {"enabled": True}, "stateful": {"enabled": True, "max-steps": STATEFUL_STEPS}},
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


def test_schemathesis_all_phases_clean(system, app):
    accounts.add_user(system.engine, "fuzzer", "admin", "password-123")
    token = accounts.create_token(system.engine, "fuzzer")
    # the WSGI transport does not undo Flask-Compress's gzip/brotli, so ask for plain bodies
    ctx, failures = run_schemathesis(app, {"Authorization": f"Bearer {token}", "Accept-Encoding": "identity"})
    warned = {kind: labels for kind, labels in ctx.warnings.as_labels().items() if labels}
    assert failures == [], "\n".join(dict.fromkeys(failures))
    assert not {kind: warned[kind] for kind in MUST_NOT_WARN if kind in warned}, warned
    assert ctx.statistic.total_cases > 300, ctx.statistic.total_cases
    assert "stateful" in {name.value for name, (status, _) in ctx.phases.items() if status is not Status.SKIP}
