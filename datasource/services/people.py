"""Who did it, as people read it: a name for the actor of an event or the reporter of a case.

The stream records actors as codes — an inspector's id (``INS-110101001001-1``), a
department's code (``sanitation``), a centre's staff code (``dispatcher-03``,
``supervisor-01``), a public channel (``12345``, ``app``, ``camera``) or a user's log-in
name.  Operators should read names: the inspector's name from ``inspectors.json``, the
department's name, "派遣员 03" / "Dispatcher 03"; anything else (a user's log-in name) is
shown as it is.
"""
from __future__ import annotations

import re
from functools import cached_property

from dashboard.i18n import t

STAFF = re.compile(r"^(dispatcher|supervisor)-(\d+)$")
#: staff code prefix → role whose name it carries (the simulated centre's shifts)
STAFF_ROLES = {"dispatcher": "role.operator", "supervisor": "role.supervision"}
#: public reporters as the simulator and the gateway record them → source key
CHANNELS = {"12345": "source.hotline12345", "app": "source.app", "camera": "source.camera"}


class People:
    """Names of actors for one scenario (built once per process, cheap to ask)."""

    def __init__(self, scenario):
        self.scenario = scenario

    @cached_property
    def inspectors(self) -> dict[str, str]:
        return {i["id"]: i.get("name") or i["id"] for i in self.scenario.inspectors}

    def name(self, actor: str | None, lang: str = "zh") -> str:
        """The name of ``actor`` in ``lang`` (the code itself when it names nobody known)."""
        if not actor:
            return ""
        if actor in self.inspectors:
            return self.inspectors[actor]
        department = self.scenario.departments.get(actor)
        if department is not None:
            return department.name_en if lang == "en" else department.name_zh
        staff = STAFF.match(actor)
        if staff:
            return f"{t(STAFF_ROLES[staff[1]], lang)} {staff[2]}"
        if actor in CHANNELS:
            return t(CHANNELS[actor], lang)
        return actor


__all__ = ["People"]
