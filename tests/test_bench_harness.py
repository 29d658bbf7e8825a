"""The benchmark harness (``make bench`` = ``python -m bench``, issue 15): a quick run writes
results.json with every figure of every benchmark beside its target and verdict; a benchmark
that breaks or overruns is reported FAILED and fails the run; bad arguments get one line."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench import harness

ROOT = Path(__file__).resolve().parent.parent
#: The quick run leaves out the three benchmarks that drive Chromium (wall, wall_push, city:
#: each needs a minute or more even at the smallest size); `make bench --quick` runs them all.
FAST = [b.name for b in harness.BENCHES if not b.browser and not b.servers]
ROW_KEYS = {"bench", "figure", "value", "unit", "target", "met", "note", "plain"}


def _bench(*args: str, timeout: float = 420) -> subprocess.CompletedProcess:
    """``python -m bench ARGS``; past ``timeout`` it is stopped with SIGTERM, which stops its benchmark too."""
    process = subprocess.Popen([sys.executable, "-m", "bench", *args], cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.terminate()
        out, err = process.communicate(timeout=30)
        pytest.fail(f"python -m bench {' '.join(args)} ran past {timeout} s:\n{out[-2000:]}{err[-2000:]}")
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


def test_quick_run_writes_every_figure_beside_its_target(tmp_path):
    out = tmp_path / "results.json"
    result = _bench("--quick", "--only", *FAST, "--out", str(out))
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["scale"] == harness.QUICK_SCALE and report["machine"]["cpus"] == os.cpu_count()
    assert [b["name"] for b in report["benches"]] == FAST
    for bench in report["benches"]:
        if os.environ.get("CI") or bench["status"] != "skipped":    # skipped only outside CI (no PostgreSQL)
            assert bench["status"] == "ok", bench
            assert any(r["bench"] == bench["name"] for r in report["rows"]), f"{bench['name']} wrote no figure"
    for row in report["rows"]:
        assert set(row) == ROW_KEYS, row
        assert isinstance(row["figure"], str) and row["unit"] is not None
        assert row["met"] in (True, False, None)
        if row["target"] and row["value"] is not None and row["target"][0] in "≤≥":   # the verdict is the target's
            assert row["met"] is not None
    assert any(r["target"] for r in report["rows"])
    assert "| benchmark | figure | measured | target | met | plain Dash | note |" in result.stdout
    assert f"written: {out}" in result.stdout


def test_a_broken_or_overrunning_benchmark_is_reported_failed(tmp_path, monkeypatch):
    fake = harness.Bench("tests.bench_fake", 0.01, "a fake")
    monkeypatch.setattr(harness, "BENCHES", (fake,))
    monkeypatch.setenv("CITYGRID_BENCH_FAKE", "ok")
    report = harness.run(0.5, out=tmp_path / "ok.json", say=lambda _: None)
    assert report["benches"][0]["status"] == "ok"
    [row] = report["rows"]
    assert (row["value"], row["target"], row["met"]) == (60.0, "≤ 100 ms", True)
    assert json.loads((tmp_path / "ok.json").read_text())["rows"] == report["rows"]

    monkeypatch.setenv("CITYGRID_BENCH_FAKE", "fail")
    report = harness.run(0.5, out=tmp_path / "fail.json", say=lambda _: None)
    assert report["benches"][0]["status"] == "failed" and "fake benchmark broke" in report["benches"][0]["error"]
    assert "FAILED" in harness.table(report)

    monkeypatch.setenv("CITYGRID_BENCH_FAKE", "hang")
    monkeypatch.setattr(harness, "_budget", lambda bench, scale: 3.0)
    report = harness.run(0.5, out=tmp_path / "hang.json", say=lambda _: None)
    assert report["benches"][0]["status"] == "failed" and "budget" in report["benches"][0]["error"]
    assert report["benches"][0]["seconds"] < 30


def test_figure_judges_against_its_target():
    assert harness.figure("a", 250, "ms", at_most=300)["met"] is True
    assert harness.figure("a", 301, "ms", at_most=300) == {
        "figure": "a", "value": 301.0, "unit": "ms", "target": "≤ 300 ms", "met": False, "note": "", "plain": None}
    assert harness.figure("b", 900, "events/s", at_least=1000)["met"] is False
    assert harness.figure("c", None, "ms", at_most=5)["met"] is None       # not measured: no verdict
    assert harness.figure("d", float("nan"), "ms", at_most=5)["value"] is None
    assert harness.figure("e", 3, "%")["target"] is None and harness.figure("e", 3, "%")["met"] is None


@pytest.mark.parametrize("args, says", [(["--only", "nosuch"], "unknown benchmark(s): nosuch"),
                                        (["--scale", "0"], "--scale must be in (0, 10]")])
def test_bad_arguments_get_one_line_and_run_nothing(tmp_path, args, says):
    out = tmp_path / "results.json"
    result = _bench(*args, "--out", str(out), timeout=60)
    assert result.returncode == 2
    assert says in result.stderr.strip().splitlines()[-1]
    assert not out.exists()
