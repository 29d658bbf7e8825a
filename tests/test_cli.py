"""The command line: help for every command, one-line errors, the embedded Redis."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest
import redis
from click.testing import CliRunner

from dashboard.cli.commands import cli
from datasource.redis.server import ensure_embedded, stop_embedded

COMMANDS = ["demo", "serve", "worker", "simulate", "backfill", "rebuild", "grids", "users", "tokens"]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command):
    result = CliRunner().invoke(cli, [command, "--help"])
    assert result.exit_code == 0 and "Usage:" in result.output


def _run(*args, env=None):
    full_env = dict(os.environ, **(env or {}))
    return subprocess.run([sys.executable, "-m", "dashboard.cli.commands", *args], capture_output=True, text=True,
                          timeout=120, env=full_env)


def test_unreachable_redis_is_one_clear_line(tmp_path):
    result = _run("--data-dir", str(tmp_path), "--redis-url", "redis://127.0.0.1:1/0", "worker", "--drain")
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot reach Redis at redis://127.0.0.1:1/0" in lines[0]
    assert "Traceback" not in result.stderr


def test_bad_database_url_is_one_clear_line(tmp_path):
    result = _run("--data-dir", str(tmp_path), "--database-url", "nosuchdb://x", "worker", "--drain")
    assert result.returncode == 1 and "bad database URL" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_unreachable_postgres_is_one_clear_line(tmp_path):
    result = _run("--data-dir", str(tmp_path), "--database-url", "postgresql://nobody@127.0.0.1:1/none",
                  "users", "list")
    assert result.returncode == 1 and "cannot reach the database" in result.stderr
    assert "Traceback" not in result.stderr


def test_users_and_tokens_via_cli(tmp_path):
    env = {"CITYGRID_DATA_DIR": str(tmp_path)}
    assert _run("users", "add", "ops1", "--role", "operator", "--password", "correct-horse", env=env).returncode == 0
    duplicate = _run("users", "add", "ops1", "--role", "operator", "--password", "correct-horse", env=env)
    assert duplicate.returncode == 1 and "already exists" in duplicate.stderr
    short = _run("users", "add", "ops2", "--role", "operator", "--password", "short", env=env)
    assert short.returncode == 1 and "at least 8" in short.stderr
    token = _run("tokens", "create", "ops1", env=env)
    assert token.returncode == 0 and len(token.stdout.strip()) >= 40
    unknown = _run("tokens", "create", "ghost", env=env)
    assert unknown.returncode == 1 and "no user 'ghost'" in unknown.stderr


def test_embedded_redis_starts_is_shared_and_stops(tmp_path):
    url = ensure_embedded(tmp_path)
    try:
        client = redis.Redis.from_url(url)
        client.set("k", "v")
        assert ensure_embedded(tmp_path) == url          # a second process reuses it
        assert redis.Redis.from_url(url).get("k") == b"v"
        other = ensure_embedded(tmp_path / "second")      # another data folder, another server
        assert other != url
        assert redis.Redis.from_url(other).get("k") is None
    finally:
        stop_embedded(tmp_path)
        stop_embedded(tmp_path / "second")
    with pytest.raises(redis.ConnectionError):
        redis.Redis.from_url(url, socket_connect_timeout=0.5).ping()


def test_demo_stops_everything_it_started_on_sigterm(tmp_path):
    """`citygrid demo` on a fresh data folder serves the page; SIGTERM stops it cleanly — the
    process exits 0 and its embedded redis-server is gone (nothing left running)."""
    import signal
    import socket
    import urllib.request

    import psutil
    from tests.helpers import wait_until
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("CITYGRID_")}
    process = subprocess.Popen([sys.executable, "-m", "dashboard.cli.commands", "--data-dir", str(tmp_path), "demo",
                                "--days", "0", "--rate", "1", "--port", str(port)], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    sock = str((tmp_path / "redis" / "redis.sock").resolve())

    def servers():
        return [p for p in psutil.process_iter(["cmdline"]) if any(sock in a for a in (p.info["cmdline"] or []))]

    def serving() -> bool:
        assert process.poll() is None, process.stdout.read()[-2000:]
        try:
            return urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2).status == 200
        except OSError:
            return False
    try:
        wait_until(serving, timeout=120, message="the demo to serve its page")
        assert len(servers()) == 1                      # the demo started its embedded Redis
        process.send_signal(signal.SIGTERM)
        assert process.wait(60) == 0
        output = process.stdout.read()
        assert "stopped: worker, gateway, simulator, embedded Redis" in output
        wait_until(lambda: not servers(), timeout=20, message="the embedded redis-server to exit")
    finally:
        if process.poll() is None:
            process.kill()
        stop_embedded(tmp_path)
