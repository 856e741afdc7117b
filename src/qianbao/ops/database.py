"""Which PostgreSQL to use: the external one named by QIANBAO_DATABASE__URL, or the embedded one."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import asyncpg

from qianbao.kernel.db import asyncpg_dsn
from qianbao.ops.embedded_pg import EmbeddedPostgres
from qianbao.settings import Settings


class DatabaseUnavailable(RuntimeError):
    pass


@dataclass
class DatabaseTarget:
    url: str
    embedded: EmbeddedPostgres | None
    started_here: bool = False

    def describe(self) -> str:
        if self.embedded is not None:
            return f"embedded PostgreSQL in {self.embedded.data_dir}"
        return "external PostgreSQL (QIANBAO_DATABASE__URL)"


def embedded_server(settings: Settings) -> EmbeddedPostgres:
    return EmbeddedPostgres(settings.database.embedded_dir)


def prepare_database(settings: Settings, *, start: bool = True) -> DatabaseTarget:
    """Return the URL to use, starting the embedded server (and its database) if that is the one."""
    if settings.database.url is not None:
        url = settings.database.url.get_secret_value()
        check_reachable(url)
        return DatabaseTarget(url=url, embedded=None)
    pg = embedded_server(settings)
    started = pg.start() if start else False
    pg.ensure_database(settings.database.embedded_db)
    return DatabaseTarget(
        url=pg.url(settings.database.embedded_db), embedded=pg, started_here=started
    )


def check_reachable(url: str, timeout: float = 5.0) -> None:
    async def _probe() -> None:
        conn = await asyncpg.connect(asyncpg_dsn(url), timeout=timeout)
        await conn.close()

    try:
        asyncio.run(_probe())
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        raise DatabaseUnavailable(
            f"Cannot reach the PostgreSQL server named by QIANBAO_DATABASE__URL ({exc}). "
            "Check that it is running and the URL (host, port, user, password, database) is "
            "right, or unset the variable to use the embedded server."
        ) from exc
