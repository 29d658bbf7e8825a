"""The end of a benchmark run that started helper processes on a stream of its own: one rule
for ``bench/wall.py``, ``bench/wall_push.py`` and ``bench/city.py``."""
from __future__ import annotations

import subprocess


def teardown(stop, processes, system, stream: str, timeout: float = 10) -> None:
    """Stop the run's threads (``stop`` event) and processes (terminate, then kill what is
    still running after ``timeout`` s), delete the run's stream keys, close the system."""
    stop.set()
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
    for key in system.redis.scan_iter(match=stream + "*", count=1000):
        system.redis.delete(key)
    system.close()
