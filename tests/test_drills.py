"""The fault drills (issue 15, item 6) at a small scale, and the runner ``python -m bench.drills``.

Each standalone drill runs in-process with ``scale=0.02`` (the sizes and durations shrink, the
checks stay the same): it must finish without an AssertionError.  The runner is checked on a
package of stub drills: every drill runs, the table names each with PASSED or FAILED and the
reason, the exit code is 1 when any failed (0 when all passed, 2 for a bad option).
"""
from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from bench.drills.__main__ import discover

ROOT = Path(__file__).resolve().parent.parent
STANDALONE = ["worker_kills", "redis_restart", "pg_stop", "fuzz_mix", "burst"]
SCALE = 0.02


def _missing(needs) -> list[str]:
    import glob
    return [exe for exe in needs if not shutil.which(exe) and not glob.glob(f"/usr/lib/postgresql/*/bin/{exe}")]


@pytest.mark.parametrize("name", STANDALONE)
def test_drill_passes_at_a_small_scale(name, capsys):
    module = importlib.import_module(f"bench.drills.{name}")
    missing = _missing(module.NEEDS)
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"the {name} drill needs {missing} in CI")
        pytest.skip(f"the {name} drill needs {missing}; it runs in CI")
    lines: list[str] = []
    module.run(lines.append, scale=SCALE)
    checks = [line for line in lines if line.startswith("check:")]
    assert checks and all(line.endswith("OK") for line in checks), lines
    print(f"{name}: {len(lines)} lines, {len(checks)} checks")


def test_every_standalone_drill_is_found_by_the_runner():
    drills = discover()
    assert set(STANDALONE) <= set(drills)
    for name in STANDALONE:
        module = drills[name]
        assert module.TITLE and "\n" not in module.TITLE and callable(module.run), name


STUBS = {
    "__init__.py": '"""Stub drills for the runner\'s test."""\n',
    "_helper.py": "raise ImportError('a helper module is not a drill and is not imported by the runner')\n",
    "a_passes.py": """
        TITLE = "passes"
        NEEDS = ()
        def run(say, scale=1.0):
            say(f"check: scale {scale} — OK")
    """,
    "b_fails.py": """
        TITLE = "fails a check"
        NEEDS = ()
        def run(say, scale=1.0):
            say("did a step")
            raise AssertionError("the tables differ: cases")
    """,
    "c_breaks.py": """
        TITLE = "breaks"
        def run(say, scale=1.0):
            {}["missing"]
    """,
    "d_needs.py": """
        TITLE = "needs a tool"
        NEEDS = ("no-such-executable-h8",)
        def run(say, scale=1.0):
            raise SystemExit("must not run")
    """,
}


@pytest.fixture
def stubs(tmp_path):
    package = tmp_path / "h8stubdrills"
    package.mkdir()
    for name, text in STUBS.items():
        (package / name).write_text(textwrap.dedent(text).lstrip())
    return tmp_path


def _runner(stubs: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(stubs), str(ROOT)]))
    return subprocess.run([sys.executable, "-m", "bench.drills", "--from", "h8stubdrills", *args], cwd=ROOT, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120)


def test_the_runner_runs_every_drill_tables_them_and_exits_1_when_one_fails(stubs):
    done = _runner(stubs, "--scale", "0.5")
    assert done.returncode == 1, done.stdout + done.stderr
    out = done.stdout
    assert "check: scale 0.5 — OK" in out and "did a step" in out
    table = out[out.index("drill "):].splitlines()
    rows = {line.split()[0]: line for line in table[2:-1]}
    assert list(rows) == ["a_passes", "b_fails", "c_breaks", "d_needs"]
    assert " PASSED " in rows["a_passes"] + " "
    assert "FAILED" in rows["b_fails"] and rows["b_fails"].endswith("the tables differ: cases")
    assert "FAILED" in rows["c_breaks"] and "KeyError" in rows["c_breaks"]
    assert "FAILED" in rows["d_needs"] and "missing executable: no-such-executable-h8" in rows["d_needs"]
    assert "must not run" not in out
    assert table[-1].startswith("1 passed, 3 failed")


def test_the_runner_exits_0_when_the_chosen_drills_pass_and_2_for_a_bad_option(stubs):
    done = _runner(stubs, "--only", "a_passes")
    assert done.returncode == 0 and "b_fails" not in done.stdout and "1 passed, 0 failed" in done.stdout
    unknown = _runner(stubs, "--only", "nope")
    assert unknown.returncode == 2 and "no such drill: nope" in unknown.stderr
    assert "Traceback" not in unknown.stderr   # the usage and one sentence
    bad = _runner(stubs, "--scale", "3")
    assert bad.returncode == 2 and "--scale must lie in (0, 1]" in bad.stderr
