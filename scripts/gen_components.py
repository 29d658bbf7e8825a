"""Regenerate Dongcheng's city-component inventory from the in-repo source data.

Usage: ``python scripts/gen_components.py`` from the repository root.  Deterministic: running
it twice yields a byte-identical ``dashboard/scenarios/dongcheng/components.csv.gz``
(see :mod:`datasource.tools.componentgen` for what is real and what is generated).
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dashboard.domain.scenario import Scenario  # noqa: E402
from datasource.tools.componentgen import generate  # noqa: E402


def main() -> None:
    """Generate into the bundled scenario folder; print the summary (counts per class, kind, origin)."""
    started = time.perf_counter()
    out = ROOT / "dashboard/scenarios/dongcheng"
    summary = generate(Scenario(out), out)
    summary["seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(summary, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
