"""Backups: the restore drill (money made through the real services, backed up and restored into
another database with the CLI, then checked), and the refusals that keep a restore safe."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import uuid
from pathlib import Path

import asyncpg
import httpx
from fastapi import FastAPI
from sqlalchemy.engine import make_url

from qianbao.kernel.clock import TestClock
from qianbao.kernel.db import Database, asyncpg_dsn
from qianbao.main import create_app
from qianbao.settings import Settings
from qianbao.wallet import cards
from tests.integration.ledger_helpers import check_invariants
from tests.support.identity import bearer
from tests.support.secrets import remember
from tests.support.wallet import CARD_OK, PIN, balance, bind_card, key, ready_user

REPO = Path(__file__).resolve().parents[2]
DRILL_PASSWORD = "drill-password-never-printed-42"
remember(DRILL_PASSWORD)


def _with_password(url: str) -> str:
    """The URL with a password in it (the embedded test server trusts any), to prove the CLI
    never prints it; an external server's URL keeps its own."""
    parsed = make_url(url)
    if parsed.password is None:
        parsed = parsed.set(password=DRILL_PASSWORD)
    return parsed.render_as_string(hide_password=False)


def _cli(args: list[str], url: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QIANBAO_")}
    env.update(
        QIANBAO_VAR_DIR=str(tmp_path / "var"),
        QIANBAO_DATABASE__URL=url,
        QIANBAO_LOGGING__LEVEL="WARNING",
    )
    proc = subprocess.run(
        [sys.executable, "-m", "qianbao.cli", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    password = make_url(url).password
    assert not password or password not in proc.stdout + proc.stderr
    return proc


def _database_url(admin_url: str, name: str) -> str:
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


async def _admin(admin_url: str, sql: str) -> None:
    conn = await asyncpg.connect(asyncpg_dsn(admin_url))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _state(url: str) -> tuple[dict[str, int], list[tuple]]:
    """Row counts of every table, and every ledger account's totals; checks the invariants."""
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        await check_invariants(conn)  # Σ postings per entry and currency = 0, balances = Σ
        tables = await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
        )
        counts = {
            t["tablename"]: await conn.fetchval(f'SELECT count(*) FROM "{t["tablename"]}"')
            for t in tables
        }
        accounts = [
            tuple(r)
            for r in await conn.fetch(
                "SELECT id, currency, posted, pending_out, pending_in, version"
                " FROM ledger_accounts ORDER BY id"
            )
        ]
        return counts, accounts
    finally:
        await conn.close()


async def test_restore_drill(
    fresh_client: httpx.AsyncClient,
    fresh_app: FastAPI,
    fresh_db_url: str,
    admin_url: str,
    settings: Settings,
    clock: TestClock,
    tmp_path: Path,
):
    # Money and a card through the real services.
    alice_phone, alice, _ = await ready_user(fresh_client, fresh_app, minor=10_000)
    bob_phone, bob, _ = await ready_user(fresh_client, fresh_app)
    card_id = await bind_card(fresh_client, fresh_app, alice_phone, alice, CARD_OK)
    r = await fresh_client.post(
        "/api/v1/wallet/transfers",
        json={"to": bob_phone, "amount": "12.34", "currency": "CNY", "pin": PIN},
        headers={**bearer(alice), **key()},
    )
    assert r.status_code == 201, r.text
    original = await _state(fresh_db_url)

    # Back up with the CLI, to the default file under the data folder.
    r = _cli(["db", "backup"], _with_password(fresh_db_url), tmp_path)
    assert r.returncode == 0, r.stderr
    dumps = list((tmp_path / "var" / "backups").glob("qianbao-*Z.dump"))
    assert len(dumps) == 1 and dumps[0].stat().st_mode & 0o777 == 0o600
    assert "Backed up" in r.stdout and str(dumps[0]) in r.stdout

    # Restore into a separate, brand-new database.
    name = f"qb_test_restore_{secrets.token_hex(3)}"
    await _admin(admin_url, f'CREATE DATABASE "{name}"')
    restored_url = _database_url(admin_url, name)
    try:
        r = _cli(["db", "restore", str(dumps[0])], _with_password(restored_url), tmp_path)
        assert r.returncode == 0, r.stderr
        assert "Restored" in r.stdout
        restored = await _state(restored_url)
        assert restored == original  # same rows everywhere, same balances, invariants hold

        # The sealed card number still opens with the deployment's keys.
        db = Database(restored_url, clock=clock)
        try:
            async with db.session() as s:
                card = await cards.card_by_id(s, uuid.UUID(card_id))
                assert card is not None and cards.reveal(settings, card) == CARD_OK
        finally:
            await db.dispose()

        # The restored service answers the same customers with the same balances.
        app = create_app(
            settings, database_url_override=restored_url, run_worker=False, clock=clock
        )
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
                assert await balance(c, alice) == ("87.66", "0.00")
                assert await balance(c, bob) == ("12.34", "0.00")

        # Again over the restored database: refused, then replaced with --force.
        r = _cli(["db", "restore", str(dumps[0])], restored_url, tmp_path)
        assert r.returncode == 1 and "is not empty" in r.stderr and "--force" in r.stderr
        r = _cli(["db", "restore", "--force", str(dumps[0])], restored_url, tmp_path)
        assert r.returncode == 0, r.stderr
        assert "replaced" in r.stdout
        assert await _state(restored_url) == original
    finally:
        await _admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def test_restore_refuses_what_is_not_a_safe_backup(
    fresh_db_url: str, admin_url: str, tmp_path: Path
):
    before = await _state(fresh_db_url)
    # Not an archive at all.
    junk = tmp_path / "junk.dump"
    junk.write_text("SELECT 1;\n")
    r = _cli(["db", "restore", str(junk)], fresh_db_url, tmp_path)
    assert r.returncode == 1 and "not a pg_dump archive" in r.stderr
    r = _cli(["db", "restore", str(tmp_path / "missing.dump")], fresh_db_url, tmp_path)
    assert r.returncode == 1 and "does not exist" in r.stderr

    # A real backup over a database that holds tables (a migrated one): refused without --force.
    dump = tmp_path / "mine.dump"
    r = _cli(["db", "backup", str(dump)], fresh_db_url, tmp_path)
    assert r.returncode == 0, r.stderr
    r = _cli(["db", "backup", str(dump)], fresh_db_url, tmp_path)
    assert r.returncode == 1 and "already exists" in r.stderr  # never overwritten
    r = _cli(["db", "restore", str(dump)], fresh_db_url, tmp_path)
    assert r.returncode == 1 and "is not empty" in r.stderr

    # A backup from a newer Qianbao (a schema version this code does not know): refused, even
    # with --force, before anything is touched.
    name = f"qb_test_future_{secrets.token_hex(3)}"
    await _admin(admin_url, f'CREATE DATABASE "{name}"')
    try:
        future_url = _database_url(admin_url, name)
        await _admin(
            future_url,
            "CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY);"
            "INSERT INTO alembic_version VALUES ('ffff_from_the_future');"
            "CREATE TABLE users (id int)",
        )
        future = tmp_path / "future.dump"
        assert _cli(["db", "backup", str(future)], future_url, tmp_path).returncode == 0
        r = _cli(["db", "restore", "--force", str(future)], fresh_db_url, tmp_path)
        assert r.returncode == 1
        assert "ffff_from_the_future" in r.stderr and "newer Qianbao" in r.stderr
    finally:
        await _admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    assert await _state(fresh_db_url) == before  # nothing changed
