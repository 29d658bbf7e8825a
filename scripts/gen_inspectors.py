"""Regenerate the grid inspectors (监督员) of the Dongcheng scenario from its unit grids.

Usage: ``python scripts/gen_inspectors.py`` from the repository root, after the grids
changed (``scripts/gen_grids.py``).  Deterministic: two runs give identical files.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from datasource.simulation.inspectors import write_inspectors  # noqa: E402


def main() -> None:
    """Write ``dashboard/scenarios/dongcheng/inspectors.json`` and print a summary."""
    print(json.dumps(write_inspectors(ROOT / "dashboard/scenarios/dongcheng"), ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
