"""PostgreSQL transaction-level advisory locks: the one way processes here keep apart.

Each user names its own key (the roll-ups' refreshes, partition making, the event writers of
:mod:`datasource.store.committed`); the lock lasts until the caller's transaction ends.
SQLite has one writer at a time: nothing to take.
"""
from __future__ import annotations


def xact_lock(connection, key: int, shared: bool = False) -> None:
    """Take advisory lock ``key`` for the rest of ``connection``'s transaction (PostgreSQL;
    ``shared``: beside other shared holders, never beside an exclusive one)."""
    if connection.dialect.name == "postgresql":
        kind = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
        connection.exec_driver_sql(f"SELECT {kind}({int(key)})")
