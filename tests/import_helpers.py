"""Helpers of the importer's tests: settings over a city folder, the CLI in-process."""
from __future__ import annotations

import json

import pandas as pd
from click.testing import CliRunner

from dashboard.settings import Settings
from tests.import_city import make_city


def city_settings(tmp_path, database_url, stream_key, redis_url, points: pd.DataFrame, timezone: str) -> Settings:
    """Settings over a new city folder whose grids cover ``points`` (columns lon, lat: WGS-84 ≈
    GCJ-02 outside China) with a margin."""
    lon, lat = points["lon"], points["lat"]
    city = make_city(tmp_path / "city", (lon.min() - 0.01, lat.min() - 0.01, lon.max() + 0.01, lat.max() + 0.01),
                     timezone)
    return Settings(data_dir=tmp_path, redis_url=redis_url, database_url=database_url, stream=stream_key,
                    components_autoload=False, scenario_dir=city)


def citygrid(settings: Settings, *args: str):
    """``citygrid ARGS`` in-process with ``settings`` (the environment a shell would give)."""
    from dashboard.cli.commands import cli
    env = {"CITYGRID_DATA_DIR": str(settings.data_dir), "CITYGRID_REDIS_URL": settings.redis_url or "",
           "CITYGRID_DATABASE_URL": settings.database_url or "", "CITYGRID_STREAM": settings.stream,
           "CITYGRID_COMPONENTS_AUTOLOAD": "false", "CITYGRID_SCENARIO": str(settings.scenario_dir)}
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def import_json(settings: Settings, *args: str) -> dict:
    """``citygrid import … --json``: the summary (the command must succeed)."""
    result = citygrid(settings, "import", *args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output.strip().splitlines()[-1])
