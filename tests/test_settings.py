"""Settings: read from CITYGRID_* by from_env only, validated, one-line errors through the CLI."""
from __future__ import annotations

import pytest
from click.testing import CliRunner

from dashboard.cli.commands import cli
from dashboard.settings import Settings, SettingsError


@pytest.mark.parametrize("env, line", [
    ({"CITYGRID_LANG": "fr"}, "CITYGRID_LANG must be zh or en, not 'fr'"),
    ({"CITYGRID_TILE_CRS": "BD-09"}, "CITYGRID_TILE_CRS must be GCJ-02 or WGS-84, not 'BD-09'"),
    ({"CITYGRID_TICK_MS": "0"}, "CITYGRID_TICK_MS must be a positive number, not '0'"),
    ({"CITYGRID_STALE_SECONDS": "soon"}, "CITYGRID_STALE_SECONDS must be a number, not 'soon'"),
])
def test_bad_value_is_one_line_naming_the_variable(env, line):
    with pytest.raises(SettingsError) as caught:
        Settings.from_env(env)
    assert str(caught.value) == line


def test_cli_prints_a_bad_setting_in_one_line():
    result = CliRunner().invoke(cli, ["users", "list"], env={"CITYGRID_LANG": "fr"})
    assert result.exit_code == 1
    assert result.output.strip() == "Error: CITYGRID_LANG must be zh or en, not 'fr'"


def test_from_env_reads_the_variables_and_overrides_win(tmp_path):
    env = {"CITYGRID_SCENARIO": str(tmp_path), "CITYGRID_CONSUMER": "w1", "CITYGRID_TICK_MS": "500",
           "CITYGRID_REDIS_URL": "", "CITYGRID_DATA_DIR": "/elsewhere"}
    settings = Settings.from_env(env, data_dir=tmp_path, database_url=None)
    assert settings.scenario_dir == tmp_path and settings.consumer == "w1" and settings.tick_ms == 500
    assert settings.redis_url is None            # empty = unset
    assert settings.data_dir == tmp_path         # the CLI's --data-dir beats the variable


def test_construction_ignores_the_environment(monkeypatch, tmp_path):
    # A developer's exported database must never reach a test's Settings(...).
    monkeypatch.setenv("CITYGRID_DATABASE_URL", "postgresql+psycopg://prod/citygrid")
    assert Settings(data_dir=tmp_path).database_url is None
    assert Settings.from_env().database_url == "postgresql+psycopg://prod/citygrid"


def test_settings_are_frozen_hashable_and_with_validates(tmp_path):
    settings = Settings(data_dir=tmp_path, stream="s")
    assert hash(settings) == hash(Settings(data_dir=tmp_path, stream="s"))
    with pytest.raises(Exception):
        settings.lang = "en"
    assert settings.with_(tile_crs="WGS-84").tile_crs == "WGS-84" and settings.tile_crs == "GCJ-02"
    with pytest.raises(SettingsError, match="CITYGRID_TILE_CRS"):
        settings.with_(tile_crs="BD-09")
    with pytest.raises(SettingsError, match="unknown setting 'tick'"):
        Settings(tick=5)
    assert settings.key_prefix == "s:" and settings.effective_database_url.endswith("citygrid.db")


def test_worker_consumer_comes_from_settings(tmp_path, redis_server_url):
    from datasource.system import System
    system = System(Settings(data_dir=tmp_path, redis_url=redis_server_url, consumer="from-settings",
                             database_url=f"sqlite:///{tmp_path / 'w.db'}"))
    unnamed = System(system.settings.with_(consumer=None))
    try:
        assert system.worker().consumer == "from-settings"
        assert system.worker(consumer="from-cli").consumer == "from-cli"   # --consumer wins
        assert unnamed.worker().consumer.endswith("-worker")
    finally:
        system.close()
        unnamed.close()
