"""How the command line fails: a mistake the user can fix is one line on stderr and exit
status 1, never a traceback.  Shared by :mod:`dashboard.cli.commands` and
:mod:`dashboard.cli.accounts`."""
from __future__ import annotations

import functools

import click


def fail_cleanly(func):
    """Turn the errors a user can fix into a one-line message and exit status 1."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        from datasource.store.database import DatabaseUnavailable
        from datasource.redis.server import RedisUnavailable
        from datasource.system import StartupError
        from dashboard.domain.scenario import ScenarioError
        import redis
        try:
            return func(*args, **kwargs)
        except (StartupError, DatabaseUnavailable, RedisUnavailable, ScenarioError, ValueError) as exc:
            raise click.ClickException(str(exc)) from None
        except redis.ConnectionError as exc:
            raise click.ClickException(f"lost the connection to Redis: {exc}") from None
    return wrapper
