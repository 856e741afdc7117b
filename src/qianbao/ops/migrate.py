"""Applying migrations programmatically. The upgrade is one transaction: all or nothing."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory


class MigrationFailed(RuntimeError):
    pass


def _alembic_ini() -> Path:
    candidates = [Path.cwd() / "alembic.ini", Path(__file__).resolve().parents[3] / "alembic.ini"]
    for path in candidates:
        if path.exists():
            return path
    raise MigrationFailed(
        "alembic.ini was not found. Run Qianbao from its source folder (where alembic.ini is)."
    )


def alembic_config(url: str) -> Config:
    cfg = Config(str(_alembic_ini()))
    cfg.attributes["database_url"] = url
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    cfg = alembic_config(url)
    try:
        command.upgrade(cfg, revision)
    except Exception as exc:
        raise MigrationFailed(
            f"A migration failed and nothing was applied (the upgrade runs in one transaction): "
            f"{type(exc).__name__}: {exc}. Fix the migration or the database, then run "
            "`qianbao migrate` again."
        ) from exc


def heads(url: str) -> list[str]:
    return list(ScriptDirectory.from_config(alembic_config(url)).get_heads())


def current_revision(sync_connection: object) -> str | None:
    return MigrationContext.configure(sync_connection).get_current_revision()  # type: ignore[arg-type]
