"""Callbacks of the evidence panel on /intake and /department: draw a case's photos side by
side, and attach the photos dropped on the upload box (through the evidence service, which
checks role, stage, type and size).  After an upload the host page's refresh store is
stamped, so its case panel shows the new version at once."""
from __future__ import annotations

import base64
import binascii
import time

from dash import Input, Output, State, no_update
from dash.exceptions import PreventUpdate

from callbacks.common import actor, current_role, message, signature, user_scope
from dashboard.domain.evidence import EvidenceRefused, attach_phase, before_after
from dashboard.domain.permissions import PAGE_ROLES, may_open
from dashboard.i18n import t
from datasource.services.command_types import CommandRefused
from layouts.evidence import HOSTS, ids, pairs


def register(app, services) -> None:
    for host, (selected, refresh, tick) in HOSTS.items():
        _register(app, services, host, selected, refresh, tick)


def _may_attach(stage: str | None) -> bool:
    try:
        attach_phase(stage, current_role())
        return True
    except (EvidenceRefused, ValueError):
        return False


def _register(app, services, host: str, selected: str, refresh: str, tick: str) -> None:
    names = ids(host)
    roles = PAGE_ROLES[f"/{host}"]
    queries, evidence = services.cases, services.evidence

    @app.callback(Output(names["pairs"], "children"), Output(names["upload"], "className"),
                  Output(names["signature"], "data"),
                  Input(selected, "data"), Input(refresh, "data"), Input(tick, "n_intervals"),
                  State(names["signature"], "data"), State(f"{host}-lang", "data"))
    def show(case_id, _refresh, _tick, shown, lang):
        """The case's photos before / after / at verification, and the upload box if wanted."""
        if not may_open(current_role(), roles) or not case_id:
            raise PreventUpdate
        if not queries.in_scope(case_id, user_scope()):
            return [], "evidence-upload hidden", None
        stage = queries.command_state(case_id).get("stage")
        photos = evidence.photos(case_id)
        upload = "evidence-upload" if _may_attach(stage) else "evidence-upload hidden"
        digest = signature(case_id, stage, [p["sha256"] + str(p["phase"]) for p in photos], lang, upload)
        if digest == shown:
            raise PreventUpdate
        return pairs(before_after(photos), lang), upload, digest

    @app.callback(Output(names["message"], "children"), Output(refresh, "data", allow_duplicate=True),
                  Output(names["upload"], "contents"),
                  Input(names["upload"], "contents"), State(names["upload"], "filename"),
                  State(selected, "data"), State(f"{host}-lang", "data"), prevent_initial_call=True)
    def upload(contents, filenames, case_id, lang):
        """Attach the dropped photos to the case in the panel."""
        if not contents:
            raise PreventUpdate
        if not may_open(current_role(), roles):
            return message(t("page.forbidden", lang), False), no_update, None
        if not case_id:
            return message(t("evidence.pick", lang), False), no_update, None
        contents = contents if isinstance(contents, list) else [contents]
        filenames = filenames if isinstance(filenames, list) else [filenames] * len(contents)
        files = []
        for name, content in zip(filenames, contents):
            try:
                files.append((name or "", base64.b64decode(str(content).partition(",")[2], validate=True)))
            except (binascii.Error, ValueError):
                files.append((name or "", b""))   # the service explains an empty file
        try:
            done = evidence.attach(actor(), case_id, files)
        except CommandRefused as exc:
            return message(exc.message(lang), False), no_update, None
        text = t("evidence.uploaded", lang, n=len(done["photos"]), phase=t(f"evidence.phase.{done['phase']}", lang))
        return message(text, True), time.time(), None
