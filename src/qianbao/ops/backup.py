"""Backups of the database in use (`qianbao db backup` / `qianbao db restore`).

A backup is a ``pg_dump`` archive in custom format (``-Fc``: compressed, restored selectively by
``pg_restore``) of the one database Qianbao uses, embedded or external. The tools come from the
embedded PostgreSQL wheel (or another folder). The password of an external server goes to them
in ``PGPASSWORD``, never on a command line, and never into a message: what we print names the
server with the password masked.

Restoring is careful, because it replaces money records:

1. the file must be a pg_dump archive (``pg_restore --list``) holding a Qianbao schema version
   (``alembic_version``) that this code knows — a backup made by a newer Qianbao is refused;
2. the target database must hold no tables, unless ``force`` (then the archive's objects are
   dropped and recreated: ``--clean --if-exists``);
3. everything is restored in one transaction (``--single-transaction --exit-on-error``): a
   failure leaves the database as it was;
4. an older schema is then migrated to this code's head, and the head is checked.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import asyncpg
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy.engine import make_url

from qianbao.kernel.db import asyncpg_dsn
from qianbao.ops.migrate import MigrationFailed, alembic_config, upgrade

Binary = Callable[[str], str]  # a tool's name -> its path (EmbeddedPostgres.binary)
SCHEMA_TABLE = "alembic_version"
TOOL_TIMEOUT_S = 6 * 3600


class BackupError(RuntimeError):
    """A backup or restore that did not happen, with a message naming the cause and the fix."""


@dataclass(frozen=True)
class Target:
    """A database as the libpq tools see it: the URL without its password, and the password."""

    url: str  # full, for asyncpg; never printed
    conninfo: str  # without the password
    password: str | None
    label: str  # safe to print

    @classmethod
    def of(cls, url: str) -> Target:
        parsed = make_url(url).set(drivername="postgresql")
        bare = parsed.set(password=None)
        return cls(
            url=url,
            conninfo=bare.render_as_string(hide_password=False),
            password=parsed.password if parsed.password else None,
            label=parsed.render_as_string(hide_password=True),
        )

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k != "PGPASSWORD"}
        if self.password:
            env["PGPASSWORD"] = self.password
        env.setdefault("PGCONNECT_TIMEOUT", "10")
        return env

    def scrub(self, text: str) -> str:
        return text.replace(self.password, "***") if self.password else text


@dataclass(frozen=True)
class BackupResult:
    path: Path
    size: int
    revision: str | None


@dataclass(frozen=True)
class RestoreResult:
    revision: str  # the schema version in the file
    head: str  # the schema version now (this code's head)
    replaced: int  # tables the database held before (0 unless forced)


def default_path(var_dir: Path, now: datetime) -> Path:
    """``<var>/backups/qianbao-<UTC time>.dump`` (``now`` from the clock, in UTC)."""
    return var_dir / "backups" / f"qianbao-{now:%Y%m%dT%H%M%SZ}.dump"


def _run(
    binary: Binary, tool: str, args: list[str], target: Target | None
) -> subprocess.CompletedProcess[str]:
    env = target.env() if target is not None else None
    try:
        proc = subprocess.run(  # noqa: S603 - a fixed PostgreSQL tool, arguments as a list
            [binary(tool), *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=TOOL_TIMEOUT_S,
            check=False,
        )
    except FileNotFoundError as exc:
        raise BackupError(f"{tool} was not found at {binary(tool)}.") from exc
    if target is not None:
        proc.stdout, proc.stderr = target.scrub(proc.stdout), target.scrub(proc.stderr)
    return proc


def _tail(text: str, lines: int = 8) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


async def _query(url: str, sql: str) -> object:
    conn = await asyncpg.connect(asyncpg_dsn(url), timeout=10)
    try:
        return await conn.fetchval(sql)
    finally:
        await conn.close()


def _fetch(target: Target, sql: str) -> object:
    try:
        return asyncio.run(_query(target.url, sql))
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        raise BackupError(
            f"Cannot query {target.label}: {target.scrub(str(exc))}. Is the server running?"
        ) from exc


def current_revision(target: Target) -> str | None:
    exists = _fetch(target, f"SELECT to_regclass('public.{SCHEMA_TABLE}') IS NOT NULL")
    if not exists:
        return None
    value = _fetch(target, f"SELECT max(version_num) FROM {SCHEMA_TABLE}")  # noqa: S608
    return str(value) if value else None


def table_count(target: Target) -> int:
    value = _fetch(
        target,
        """SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
             AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'""",
    )
    return int(value or 0)  # type: ignore[call-overload]


def backup(target: Target, path: Path, binary: Binary) -> BackupResult:
    """Dump the database to ``path`` (refuses to overwrite); readable by the owner only."""
    if path.exists():
        raise BackupError(f"{path} already exists: choose another file name.")
    revision = current_revision(target)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.unlink(missing_ok=True)
    partial.touch(mode=0o600)
    proc = _run(
        binary,
        "pg_dump",
        ["--format=custom", "--file", str(partial), "--dbname", target.conninfo],
        target,
    )
    if proc.returncode != 0:
        partial.unlink(missing_ok=True)
        raise BackupError(f"pg_dump of {target.label} failed:\n{_tail(proc.stderr)}")
    partial.chmod(0o600)
    partial.rename(path)
    return BackupResult(path=path, size=path.stat().st_size, revision=revision)


def archive_revision(path: Path, binary: Binary) -> str:
    """The Qianbao schema version a backup holds; refuses anything else."""
    if not path.is_file():
        raise BackupError(f"{path} does not exist (or is not a file).")
    listing = _run(binary, "pg_restore", ["--list", str(path)], None)
    if listing.returncode != 0:
        raise BackupError(
            f"{path} is not a pg_dump archive in custom format (as `qianbao db backup` makes): "
            f"{_tail(listing.stderr, 2)}"
        )
    if f"TABLE DATA public {SCHEMA_TABLE} " not in listing.stdout:
        raise BackupError(f"{path} holds no Qianbao schema version ({SCHEMA_TABLE}).")
    data = _run(
        binary,
        "pg_restore",
        ["--data-only", "--schema=public", f"--table={SCHEMA_TABLE}", "--file=-", str(path)],
        None,
    )
    lines = data.stdout.splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith(f"COPY public.{SCHEMA_TABLE} ")]
    rows = []
    if starts:
        for line in lines[starts[0] + 1 :]:
            if line == "\\.":
                break
            rows.append(line.strip())
    if data.returncode != 0 or len(rows) != 1 or not rows[0]:
        raise BackupError(f"{path} holds no single Qianbao schema version ({SCHEMA_TABLE}).")
    return rows[0]


def known_head(url: str, revision: str) -> str:
    """This code's head; refuses a revision it does not know (a newer Qianbao's backup)."""
    script = ScriptDirectory.from_config(alembic_config(url))
    head = script.get_current_head() or ""
    try:
        known = script.get_revision(revision) is not None
    except CommandError:
        known = False
    if not known:
        raise BackupError(
            f"The backup's schema version {revision} is unknown to this version of Qianbao "
            f"(its newest is {head}): the backup was made by a newer Qianbao. Restore it with "
            "that version or a later one; nothing was changed."
        )
    return head


def restore(target: Target, path: Path, binary: Binary, *, force: bool = False) -> RestoreResult:
    revision = archive_revision(path, binary)
    head = known_head(target.url, revision)
    tables = table_count(target)
    if tables and not force:
        raise BackupError(
            f"{target.label} is not empty ({tables} tables): restore into an empty database, "
            "or add --force to drop and replace what the backup holds. Nothing was changed."
        )
    args = [
        "--single-transaction",
        "--exit-on-error",
        "--no-owner",
        "--no-privileges",
        "--dbname",
        target.conninfo,
    ]
    if force:
        args[:0] = ["--clean", "--if-exists"]
    proc = _run(binary, "pg_restore", [*args, str(path)], target)
    if proc.returncode != 0:
        raise BackupError(
            f"pg_restore into {target.label} failed and was rolled back (nothing changed):\n"
            f"{_tail(proc.stderr)}"
        )
    if revision != head:
        try:
            upgrade(target.url)
        except MigrationFailed as exc:
            raise BackupError(
                f"The backup was restored, but migrating it from {revision} to {head} failed: "
                f"{target.scrub(str(exc))}"
            ) from exc
    now = current_revision(target)
    if now != head:
        raise BackupError(
            f"After the restore the schema version is {now}, not this code's {head}: "
            "run `qianbao migrate` and check the database."
        )
    return RestoreResult(revision=revision, head=head, replaced=tables)
