"""Operations: the embedded server, migrations that fail cleanly, and the CLI's error messages."""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url

from qianbao.kernel.db import asyncpg_dsn
from qianbao.ops.embedded_pg import EmbeddedPostgres, EmbeddedPostgresError
from qianbao.ops.migrate import MigrationFailed, upgrade

REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cli_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QIANBAO_")}
    env.update(
        QIANBAO_VAR_DIR=str(tmp_path / "var"),
        QIANBAO_DATABASE__EMBEDDED_DIR=str(tmp_path / "var" / "pg"),
        QIANBAO_LOGGING__LEVEL="WARNING",
    )
    env.update(extra)
    return env


def _cli(
    args: list[str], env: dict[str, str], timeout: float = 90
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "qianbao.cli", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_embedded_server_lifecycle_is_idempotent(tmp_path: Path):
    pg = EmbeddedPostgres(tmp_path / "pg")
    try:
        assert pg.start() is True
        assert pg.start() is False  # already running
        assert pg.status().running
        pg.ensure_database("qianbao")
        pg.ensure_database("qianbao")
        assert pg.stop() is True
        assert pg.stop() is False
        assert not pg.status().running
        assert pg.start() is True  # data kept: no initdb the second time
        assert pg.is_initialized()
    finally:
        pg.destroy()
    assert not (tmp_path / "pg").exists()


def test_embedded_server_in_a_long_path_uses_a_short_socket_folder(tmp_path: Path):
    deep = tmp_path / ("d" * 60) / ("e" * 40)
    deep.mkdir(parents=True)
    pg = EmbeddedPostgres(deep / "pg")
    assert pg.socket_dir != pg.data_dir
    try:
        pg.start()
        assert pg.status().running
    finally:
        pg.destroy()


def test_unwritable_data_folder_is_a_clear_error(tmp_path: Path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(EmbeddedPostgresError, match="not writable"):
        EmbeddedPostgres(blocker / "pg").start()


async def test_a_failing_migration_applies_nothing(admin_url: str):
    name = f"qb_test_migfail_{secrets.token_hex(3)}"
    admin = await asyncpg.connect(asyncpg_dsn(admin_url))
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    try:
        conn = await asyncpg.connect(asyncpg_dsn(url))
        # A table in the way makes the first migration fail half-way through.
        await conn.execute("CREATE TABLE jobs (id int)")
        with pytest.raises(MigrationFailed, match="nothing was applied") as failure:
            await asyncio.to_thread(upgrade, url)
        assert "already exists" in str(failure.value)
        tables = {
            r["tablename"]
            for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname='public'")
        }
        assert tables == {"jobs"}  # no outbox table, no alembic_version: all or nothing
        await conn.close()
    finally:
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()


def test_cli_reports_an_unreachable_database(tmp_path: Path):
    port = _free_port()
    env = _cli_env(tmp_path, QIANBAO_DATABASE__URL=f"postgresql://qb:pw@127.0.0.1:{port}/qb")
    result = _cli(["migrate"], env)
    assert result.returncode != 0
    assert "Cannot reach the PostgreSQL server" in result.stderr
    assert "pw@" not in result.stderr + result.stdout  # the password is never printed


def test_demo_data_is_never_loaded_in_production(tmp_path: Path):
    """The demo logins are public (a password in the docs, a supervisor's TOTP secret in the
    source): `qianbao run` and `qianbao demo` refuse in production, before touching a database."""
    port = _free_port()
    env = _cli_env(
        tmp_path,
        QIANBAO_ENVIRONMENT="production",
        QIANBAO_DATABASE__URL=f"postgresql://qb:pw@127.0.0.1:{port}/qb",
    )
    for command in (["demo"], ["run", "--port", str(_free_port())]):
        result = _cli(command, env)
        assert result.returncode != 0, command
        assert "Demo data is never loaded in production" in result.stderr, result.stderr


def test_cli_reports_a_busy_port(tmp_path: Path, db_url: str):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        env = _cli_env(tmp_path, QIANBAO_DATABASE__URL=db_url)
        result = _cli(["serve", "--port", str(port)], env)
    assert result.returncode != 0
    assert f"Port {port} on 127.0.0.1 is already in use" in result.stderr
    assert "QIANBAO_HTTP__PORT" in result.stderr


def test_cli_reports_an_unwritable_data_folder(tmp_path: Path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    env = _cli_env(tmp_path, QIANBAO_DATABASE__EMBEDDED_DIR=str(blocker / "pg"))
    result = _cli(["db", "start"], env)
    assert result.returncode == 1
    assert "not writable" in result.stderr
    assert "QIANBAO_DATABASE__EMBEDDED_DIR" in result.stderr


def _wait_healthy(base: str, proc: subprocess.Popen, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(
                f"qianbao run exited early: {proc.stdout.read() if proc.stdout else ''}"
            )
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError("qianbao run did not become healthy")


def _start_run(env: dict[str, str], port: int) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "qianbao.cli", "run", "--port", str(port)],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_run_serves_both_languages_stops_cleanly_and_keeps_data(tmp_path: Path):
    """What `make run` does, end to end, on a fresh embedded server in a temp folder."""
    env = _cli_env(tmp_path)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    proc = _start_run(env, port)
    try:
        _wait_healthy(base, proc)
        assert httpx.get(base + "/readyz").json()["status"] == "ok"
        assert (
            "Your wallet, with real help"
            in httpx.get(base + "/", headers={"Accept-Language": "en"}).text
        )
        assert (
            "您的钱包，有真人帮您"
            in httpx.get(base + "/", headers={"Accept-Language": "zh-CN"}).text
        )
        pg = EmbeddedPostgres(tmp_path / "var" / "pg")
        marker_url = pg.url("qianbao")

        async def _mark() -> None:
            conn = await asyncpg.connect(asyncpg_dsn(marker_url))
            await conn.execute(
                "INSERT INTO outbox_messages (topic, payload) VALUES ('test.marker', '{}')"
            )
            await conn.close()

        asyncio.run(_mark())
    finally:
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, output
    assert "demo logins" in output
    assert not pg.status().running, "the embedded server must stop with the web server"

    port = _free_port()
    proc = _start_run(env, port)
    try:
        _wait_healthy(f"http://127.0.0.1:{port}", proc)

        async def _count() -> int:
            conn = await asyncpg.connect(asyncpg_dsn(marker_url))
            n = await conn.fetchval(
                "SELECT count(*) FROM outbox_messages WHERE topic = 'test.marker'"
            )
            await conn.close()
            return int(n)

        assert asyncio.run(_count()) == 1  # the data survived the restart
    finally:
        proc.send_signal(signal.SIGINT)  # Ctrl-C
        output, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, output
    assert not pg.status().running
