"""Regenerate Dongcheng communities and unit grids from the in-repo source data.

Usage: ``python scripts/gen_grids.py`` from the repository root. Deterministic: running
it twice yields byte-identical ``communities.geojson`` and ``grids.geojson``.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tqdm import tqdm  # noqa: E402

from datasource.tools.gridgen import generate  # noqa: E402


def main() -> None:
    """Generate into ``dashboard/scenarios/dongcheng`` with a progress bar; print the summary."""
    source = ROOT / "dashboard/scenarios/dongcheng/source"
    out = ROOT / "dashboard/scenarios/dongcheng"
    started = time.perf_counter()
    with tqdm(total=1, unit="street", desc="grids") as bar:
        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.n = done
            bar.refresh()
        summary = generate(source, out, progress=progress)
    summary["seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(summary, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
