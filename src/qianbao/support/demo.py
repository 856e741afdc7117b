"""Demo data of the support desk: the help center's shipped articles (idempotent)."""

from __future__ import annotations

from qianbao.demo import DemoLogin, demo_loader
from qianbao.kernel.db import Database
from qianbao.support.helpcenter.seed import ensure_default_content


@demo_loader("support", order=50)
async def load(db: Database) -> list[DemoLogin]:
    async with db.transaction() as session:
        await ensure_default_content(session)
    return []
