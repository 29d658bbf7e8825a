"""A benchmark module for tests/test_bench_harness.py: what it does is chosen by the variable
CITYGRID_BENCH_FAKE (``ok``, ``fail``, ``hang``)."""
import os
import time

from bench.harness import figure


def measure(scale: float = 1.0) -> list[dict]:
    mode = os.environ.get("CITYGRID_BENCH_FAKE", "ok")
    if mode == "fail":
        raise RuntimeError("the fake benchmark broke")
    if mode == "hang":
        time.sleep(600)
    return [figure("fake figure", 120 * scale, "ms", at_most=100)]
