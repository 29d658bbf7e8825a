"""The simulator: realistic case traffic for the scenario, through the real event path.

Why it exists: a command-centre wall is only convincing — and only testable at scale —
with months of plausible history and a live trickle of new events.  Both producers append
through the same checked path as an operator's click (:meth:`EventStream.append` /
the batch script), so the command side knows every case they make and everything
downstream (worker, reporting DB, pages) runs unchanged.  The pieces live in
:mod:`datasource.simulation`; this module is the stable entry point for the CLI.
"""
from __future__ import annotations

from .simulation.backfill import backfill, generate_history
from .simulation.inspectors import generate_inspectors, write_inspectors
from .simulation.live import simulate

__all__ = ["backfill", "generate_history", "generate_inspectors", "write_inspectors", "simulate"]
