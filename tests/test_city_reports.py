"""The regional and people figures of a generated city in a zone with daylight-saving time
(San Francisco, America/Los_Angeles) against the same independent pandas computation as
Dongcheng's (``tests/test_regions_pandas.py``, reused here), over a period that crosses the
change from summer to winter time (1 November 2026), on SQLite and PostgreSQL.

Before, the reports added one fixed offset in SQL and refused such a zone; now the offset in
force at each instant is added (``datasource/services/zone_sql.py``)."""
from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner

from dashboard.domain.evaluation import Period
from datasource.simulation.backfill import append_history, generate_history
from tests.helpers import case_frames
from tests.test_regions_pandas import test_people_figures_match_pandas as people_figures_match
from tests.test_regions_pandas import test_street_and_grid_figures_match_pandas as region_figures_match

SAMPLE = Path(__file__).parent / "fixtures" / "sf311-sample.csv"
NOW = datetime(2026, 11, 4, 20, 0, tzinfo=timezone.utc)     # Wednesday noon in San Francisco
FIRST, LAST = date(2026, 10, 30), date(2026, 11, 3)         # Friday … Tuesday, across Sunday's change


@pytest.fixture(scope="module")
def sf_dir(tmp_path_factory) -> Path:
    from dashboard.cli.commands import cli
    out = tmp_path_factory.mktemp("city") / "sf"
    result = CliRunner().invoke(cli, ["city", "init", str(out), "--from", str(SAMPLE), "--timezone",
                                      "America/Los_Angeles", "--country", "US", "--name", "San Francisco"])
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture
def system(settings, clock, sf_dir):
    """The test's system (SQLite or PostgreSQL) on the generated city."""
    from datasource.system import System
    system = System(settings.model_copy(update={"scenario_dir": sf_dir}), clock=clock).start()
    yield system
    system.close()


@pytest.fixture
def generated(system):
    """Six days of the simulator's stories up to ``NOW``, through the stream and the worker, and
    the tables as pandas reads them (the shape ``tests/test_regions_pandas.py`` expects)."""
    tz = system.scenario.calendar.tz
    assert str(tz) == "America/Los_Angeles"
    history = generate_history(system.scenario, system.locator, 6, seed=11, now=NOW, per_day=260)
    append_history(system.stream, history, seed=11)
    assert system.worker().drain().dead == 0
    period = Period(FIRST, LAST, tz=tz)
    assert period.start.astimezone(tz).utcoffset() != period.end.astimezone(tz).utcoffset()   # it crosses the change
    cases, events = case_frames(system.engine)
    return system, period, cases, events


def test_region_and_people_figures_match_pandas_across_the_change(generated):
    region_figures_match(generated)
    people_figures_match(generated)
