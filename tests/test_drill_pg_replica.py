"""The replica drill (bench/drills/pg_replica.py) at a small scale: it must pass in CI."""
from __future__ import annotations

import glob

from bench.drills import pg_replica
from tests.conftest import _absent


def test_the_replica_drill_passes_at_a_small_scale():
    if not glob.glob("/usr/lib/postgresql/*/bin/pg_basebackup"):
        _absent("PostgreSQL server binaries (initdb, pg_ctl, pg_basebackup)", "not installed")
    lines: list[str] = []
    pg_replica.run(lines.append, scale=0.05)
    print("\n".join(lines))
    checks = [line for line in lines if line.startswith("check:")]
    assert len(checks) == 5 and all(line.endswith("— OK") for line in checks)
    assert any(line.startswith("killed the replica") for line in lines)
    assert any(line.startswith("restarted the replica") for line in lines)
