"""Who may do what: the roles, the command table, the pages each role opens, and the actions
a case's stage offers to a role.

This is the one place these rules live.  The command service checks them on every command
(:func:`may`), the API and its OpenAPI description list them, the router checks
:func:`may_open` before it draws a page, and the work pages show exactly the buttons
:func:`offered_actions` returns — derived from the lifecycle's transition table, so a stage
never offers an action the state machine would refuse.
"""
from __future__ import annotations

from .lifecycle import TRANSITIONS, EventType, Stage

#: Every role a user can have (``citygrid users add --role``).
ROLES = ("wall", "operator", "supervision", "department", "supervisor", "leader", "admin")

#: action → roles allowed (admin may do everything).
PERMISSIONS: dict[str, tuple[str, ...]] = {
    "report": ("supervision",), "file": ("supervision",), "reject": ("supervision",),
    "dispatch": ("operator",), "return": ("department",), "handle": ("department",),
    "verify": ("supervision",), "close": ("supervision",), "extend": ("supervision",),
    "suspend": ("supervision",), "resume": ("supervision",), "request": ("department",),
    "decline": ("supervision",),
}
ACTIONS = tuple(PERMISSIONS)
#: Who may acknowledge an alarm on the wall (issue 13) — admin too.  Not a step of the case
#: loop (no event, no API body), so kept apart from PERMISSIONS/ACTIONS.
ACKNOWLEDGE_ROLES = ("operator", "supervision")


def may_acknowledge(role: str | None) -> bool:
    return role == "admin" or role in ACKNOWLEDGE_ROLES


#: Acts on a case with routes and pages of their own (issue 11), outside the command table
#: above (and so outside ``POST /api/v1/cases/{id}/{action}``): attaching evidence photos
#: (which phase each role photographs: :mod:`dashboard.domain.evidence`), and recording a
#: return visit (回访) — a call-taker's work, and the supervision centre's call-takers are
#: the ones who take the public's 12345 / app / phone reports in the first place.
FOLLOW_UP_PERMISSIONS: dict[str, tuple[str, ...]] = {
    "attach": ("supervision", "department"), "visit": ("supervision",),
}

#: action → event type it appends (verify: VERIFIED on pass, REWORK on fail).
EVENT_OF: dict[str, EventType] = {
    "file": EventType.FILED, "reject": EventType.REJECTED, "dispatch": EventType.DISPATCHED,
    "return": EventType.RETURNED, "handle": EventType.HANDLED, "verify": EventType.VERIFIED,
    "close": EventType.CLOSED, "extend": EventType.EXTENDED, "suspend": EventType.SUSPENDED,
    "resume": EventType.RESUMED,
}

#: Actions a department may take only on cases dispatched to it.
OWN_CASE_ACTIONS = ("handle", "return", "request")

#: Actions that are not events: a department's request waits in a list for the supervision
#: centre, which grants it (extend / suspend) or declines it.  action → stages it is offered in.
REQUEST_STAGES = {"request": (Stage.DISPATCHED,)}

#: Roles that may read case data through the API (a wall reads only what the wall shows).
READ_ROLES = ("operator", "supervision", "department", "supervisor", "leader", "admin")

#: API read operation → roles that may call it (admin always).  The API enforces this
#: table and its OpenAPI document lists it per operation.
READ_ACCESS: dict[str, tuple[str, ...]] = {
    "listCases": READ_ROLES, "getCase": READ_ROLES, "getRecommendation": ("operator",),
    "getStages": READ_ROLES + ("wall",), "getRequests": ("supervision", "department"), "getAudit": ("admin",),
    # the supervisors' evaluation (issue 9): departments, and their CSV/Excel exports
    "listDepartmentEvaluations": ("supervisor", "leader"), "getDepartmentEvaluation": ("supervisor", "leader"),
    "exportEvaluation": ("supervisor", "leader"),
    # regions, inspectors, dispatchers and shifts (issue 9), JSON or files
    "getRegionReports": ("supervisor", "leader"),
    "listComponents": READ_ROLES, "getComponent": READ_ROLES,   # city components (issue 16)
    # evidence photos and return visits (issue 11); a photo is read like its case
    "getPhoto": READ_ROLES, "listVisits": ("supervision",),
    "getSatisfaction": ("supervision", "supervisor", "leader"),
}

#: page path → roles that may open it (``None``: anyone, logged in or not).
PAGE_ROLES: dict[str, tuple[str, ...] | None] = {
    "/": None,
    "/login": None,
    "/wall": ("wall", "supervisor", "leader", "operator", "supervision", "admin"),
    "/dispatch": ("operator", "admin"),
    "/intake": ("supervision", "admin"),
    "/department": ("department", "admin"),
    "/admin": ("admin",),
    "/departments": ("supervisor", "leader", "admin"),  # and /departments/<code>
    "/regions": ("supervisor", "leader", "admin"),
    "/inspectors": ("supervisor", "leader", "admin"),
    "/briefing": ("leader", "supervisor", "admin"),
    "/visits": ("supervision", "admin"),   # return visits (回访, issue 11)
}


#: role → where it lands after log-in: the first of these pages that exists (the leader's
#: briefing and the department evaluation are built separately; until they are, the next one).
LANDING: dict[str, tuple[str, ...]] = {
    "operator": ("/dispatch",), "supervision": ("/intake",), "department": ("/department",),
    "supervisor": ("/departments", "/regions"), "leader": ("/briefing", "/departments", "/regions"),
    "admin": ("/admin",), "wall": ("/wall",),
}


def may(role: str | None, action: str) -> bool:
    """Whether ``role`` may run ``action`` at all (ownership is checked per case)."""
    return role == "admin" or role in PERMISSIONS.get(action, ()) or role in FOLLOW_UP_PERMISSIONS.get(action, ())


def may_open(role: str | None, roles: tuple[str, ...] | None) -> bool:
    """Whether ``role`` (None: nobody logged in) may open a page or callback limited to ``roles``."""
    if roles is None:
        return True
    return role is not None and (role in roles or role == "admin")


def landing(role: str | None, existing) -> str:
    """The page ``role`` lands on after log-in, among the paths in ``existing`` ("/" if none)."""
    for path in LANDING.get(role or "", ()):
        if path in existing and path in PAGE_ROLES and may_open(role, PAGE_ROLES[path]):
            return path
    return "/"


def nav_pages(role: str | None, existing) -> tuple[str, ...]:
    """The pages the navigation offers ``role``: those of :data:`PAGE_ROLES` it may open and
    that exist, in that order (the log-in page is the account link, not a page to visit)."""
    return tuple(path for path, roles in PAGE_ROLES.items()
                 if path != "/login" and path in existing and may_open(role, roles))


def stages_for(action: str) -> frozenset:
    """The stages in which ``action`` can be taken (from the lifecycle's transition table)."""
    if action in REQUEST_STAGES:
        return frozenset(REQUEST_STAGES[action])
    event_type = EVENT_OF.get(action)
    if event_type is None:
        return frozenset()
    return frozenset(s for s in TRANSITIONS[event_type][0] if s is not None)


def offered_actions(stage: str | Stage | None, role: str | None) -> tuple[str, ...]:
    """The actions a case in ``stage`` offers to ``role``, in the command table's order.

    ``decline`` is not tied to a stage (it answers a pending request) and ``report`` creates
    a case, so neither is offered here."""
    if stage is None:
        return ()
    stage = Stage(stage)
    return tuple(action for action in ACTIONS
                 if may(role, action) and stage in stages_for(action))
