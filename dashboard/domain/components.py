"""City components (城市部件): their codes, who looks after them, and the dispatch rule.

**Component code** (GB/T 30428.2, ``DOMAIN.md`` §2): 16 digits = 6-digit district code
(Dongcheng 110101) + 2-digit major class + 2-digit minor class + 6-digit serial, e.g.
``1101010118000042`` — the 42nd street lamp (major 01 公用设施, minor 18 路灯).  A component's
*kind* is its category code in the scenario (``C`` + major + minor: ``C0118``), so the classes a
component may have are exactly the scenario's component categories.

Each component has three departments: owner (主管), title holder (权属) and maintainer (养护).
A case about a component goes first to its maintainer; that rule, and the rest of the dispatch
recommendation's order and warnings, live here (:func:`rank_departments`) so that the page,
the API and the tests all ask the same function.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from dashboard.domain.codes import DISTRICT_CODE

CODE_RE = re.compile(r"^\d{16}$")
STATUSES = ("in_service", "damaged", "removed")
MAJOR_CLASSES = {"01": ("公用设施", "Public facilities"), "02": ("道路交通", "Roads and traffic"),
                 "03": ("市容环境", "City appearance"), "04": ("园林绿化", "Landscaping"),
                 "05": ("房屋土地", "Buildings and land"), "06": ("其他设施", "Other facilities")}


class InvalidComponentCode(ValueError):
    """A text that is not a component code (one-line reason)."""


@dataclass(frozen=True)
class ComponentCode:
    district: str
    major: str
    minor: str
    serial: int

    @property
    def kind(self) -> str:
        """The scenario category of the component (``C`` + major + minor)."""
        return f"C{self.major}{self.minor}"

    def __str__(self) -> str:
        return f"{self.district}{self.major}{self.minor}{self.serial:06d}"


def parse_code(text: str) -> ComponentCode:
    """A component code's parts; :class:`InvalidComponentCode` for anything else."""
    if not isinstance(text, str) or not CODE_RE.match(text):
        raise InvalidComponentCode(f"component code {str(text)[:40]!r} is not 16 digits")
    major, minor, serial = text[6:8], text[8:10], int(text[10:])
    if major not in MAJOR_CLASSES:
        raise InvalidComponentCode(f"component code {text}: major class {major} is not 01–06")
    if minor == "00" or serial == 0:
        raise InvalidComponentCode(f"component code {text}: minor class and serial start at 01 and 000001")
    return ComponentCode(text[:6], major, minor, serial)


def is_component_code(text: str) -> bool:
    try:
        parse_code(text)
    except InvalidComponentCode:
        return False
    return True


def make_code(kind: str, serial: int, district: str = DISTRICT_CODE) -> str:
    """The code of the ``serial``-th component of ``kind`` (a ``C`` category code)."""
    if not (len(kind) == 5 and kind[0] == "C" and kind[1:].isdigit()):
        raise InvalidComponentCode(f"kind {kind!r} is not a component category like C0118")
    if not 0 < serial < 1_000_000:
        raise InvalidComponentCode(f"serial {serial} out of range 1..999999")
    return f"{district}{kind[1:3]}{kind[3:5]}{serial:06d}"


def kind_of(code: str) -> str:
    """The category (kind) a component code names: ``C`` + major + minor."""
    return parse_code(code).kind


# ------------------------------------------------------------------ dispatch recommendation
#: The proposed department is flagged when its on-time rate is below this (with enough cases
#: handled to judge) or its open load is this many times the professional departments' median.
POOR_ON_TIME = 0.8
MIN_HANDLED_TO_JUDGE = 4
HEAVY_LOAD_FACTOR = 2.0
HEAVY_LOAD_MIN = 10


@dataclass(frozen=True)
class DepartmentRecord:
    """What the recommendation knows of a department (plain numbers, no database)."""
    code: str
    kind: str                 # "professional" or "street"
    load: int                 # open dispatched cases
    handled: int              # cases handled in the stats period
    on_time_rate: float | None
    category_cases: int       # cases of the case's category dispatched to it in the history period


def rank_departments(records: dict[str, DepartmentRecord], routing: str, street_office: str | None,
                     maintainer: str | None, related: frozenset[str] = frozenset()) -> list[tuple[str, list[str]]]:
    """Departments in the order to offer them, each with its reasons (i18n key suffixes).

    1. the maintainer (养护单位) of the component the case names — ``maintainer``;
    2. the routing table's department for the category — ``routing``;
    3. the case's street office — ``street``;
    4. departments that have handled this category before, most cases first — ``history``;
    5. departments the routing table gives categories of the same class (``related``: E01…
       city appearance → sanitation, enforcement …), best on-time rate, then lightest load;
    6. everyone else (never handled the category: never offered first), likewise.
    A department is listed once, with every reason that applies."""
    reasons: dict[str, list[str]] = {}

    def add(code: str | None, reason: str) -> None:
        if code and code in records:
            reasons.setdefault(code, [])
            if reason not in reasons[code]:
                reasons[code].append(reason)

    add(maintainer, "maintainer")
    add(routing, "routing")
    add(street_office, "street")
    # other street offices' history is about their own streets, not a reason to send them this case
    experienced = [c for c, r in records.items() if r.category_cases and (r.kind == "professional" or c == street_office)]
    for code in experienced:
        add(code, "history")
    history = sorted(experienced,
                     key=lambda c: (-records[c].category_cases, -(records[c].on_time_rate or 0), c))
    order = [c for c in (maintainer, routing, street_office) if c and c in records] + history
    for code in related:
        if code in records and code not in reasons:
            add(code, "related")

    def best(c: str) -> tuple:
        return -(records[c].on_time_rate or 0), records[c].load, c
    order += sorted((c for c in related if c in records and c not in order), key=best)
    order += sorted((c for c, r in records.items() if r.kind == "professional" and c not in reasons), key=best)
    return [(code, reasons.get(code, [])) for code in dict.fromkeys(order)]


def warnings_for(record: DepartmentRecord, median_load: float) -> list[tuple[str, dict]]:
    """Why the proposed department may be a poor choice: (i18n key suffix, values)."""
    found: list[tuple[str, dict]] = []
    if (record.on_time_rate is not None and record.handled >= MIN_HANDLED_TO_JUDGE
            and record.on_time_rate < POOR_ON_TIME):
        found.append(("poor_on_time", {"rate": f"{record.on_time_rate * 100:.0f}",
                                       "target": f"{POOR_ON_TIME * 100:.0f}"}))
    if record.load >= HEAVY_LOAD_MIN and record.load >= HEAVY_LOAD_FACTOR * max(median_load, 1.0):
        found.append(("heavy_load", {"n": record.load, "median": f"{median_load:g}"}))
    return found
