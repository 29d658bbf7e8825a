"""What commands are made of: their actors, messages, refusals and results.

Who may do what lives in :mod:`dashboard.domain.permissions`; the JSON form of each command's
parameters is the API's (pydantic models in :mod:`dashboard.web.api_models`).  Kept apart from
:mod:`datasource.services.commands` (the service that runs them) so that the pages and the API
can share these types without the service.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

from dashboard.domain.inputs import DESCRIPTION_MAX, TEXT_MAX, InputRefused
from dashboard.i18n import t

__all__ = ["DESCRIPTION_MAX", "TEXT_MAX", "Actor", "Msg", "CommandRefused", "CommandResult"]
ALARM_ACKS = "alarm_acks"   # <stream>:alarm_acks — acknowledged wall alarms (datasource.services.wall_alarms)


@dataclass(frozen=True)
class Actor:
    """Who acts: a user's name, role, department and scope (sub-centre: street or community
    code, None = the whole district), and where the request came from."""

    name: str
    role: str
    department_code: str | None = None
    remote_addr: str | None = None
    scope: str | None = None

    @classmethod
    def of(cls, user, remote_addr: str | None = None) -> "Actor":
        return cls(user.name, user.role, getattr(user, "department_code", None), remote_addr,
                   getattr(user, "scope", None))


class Msg:
    """A message key with values; values that are Msg are translated too."""

    def __init__(self, key: str, **values):
        self.key, self.values = key, values

    def render(self, lang: str = "en") -> str:
        return t(self.key, lang, **{k: _render(v, lang) for k, v in self.values.items()})


def _render(value, lang: str):
    if isinstance(value, Msg):
        return value.render(lang)
    if isinstance(value, (list, tuple)):
        return " / ".join(str(_render(v, lang)) for v in value)
    return value


class CommandRefused(Exception):
    """A command that was not carried out; ``status`` is the HTTP status the API answers."""

    def __init__(self, status: int, msg: Msg, outcome: str = "refused", stage: str | None = None):
        self.status, self.msg, self.outcome, self.stage = status, msg, outcome, stage
        super().__init__(msg.render("en"))

    def message(self, lang: str = "en") -> str:
        return self.msg.render(lang)

    @classmethod
    def of_input(cls, exc: InputRefused) -> "CommandRefused":
        """A value refused at the edge (:mod:`dashboard.domain.inputs`) as a 400."""
        return cls(400, Msg(exc.key, **exc.values))


@dataclass(frozen=True)
class CommandResult:
    case_id: str
    action: str
    before: str | None
    after: str
    version: int
    entry_id: str
    at: str
    event: str
    department: str | None = None
    deadline: str | None = None

    def as_dict(self) -> dict:
        return asdict(self)



def _stage_name(stage: str | None) -> Msg:
    return Msg(f"stage.{stage}") if stage else Msg("cmd.no_stage")
