"""The Redis Cluster drill (issue 15) at a small scale: a primary killed under load, the replica
takes over, nothing lost or applied twice (bench/drills/redis_cluster.py says what it checks)."""
from __future__ import annotations

import os
import shutil

import pytest

from bench.drills import redis_cluster as drill


def test_the_cluster_drill_passes_at_small_scale():
    missing = [name for name in drill.NEEDS if shutil.which(name) is None]
    if missing:
        (pytest.fail if os.environ.get("CI") else pytest.skip)(f"{', '.join(missing)} not installed (apt-get install redis-server)")
    lines: list[str] = []
    drill.run(lines.append, scale=0.05)
    text = "\n".join(lines)
    assert "killed primary" in text and "took over partition 0" in text
    checks = [line for line in lines if line.startswith("check:")]
    assert len(checks) == 6 and all(line.endswith("— OK") or "— OK (" in line for line in checks), text
