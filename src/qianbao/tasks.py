"""The composition root of background work: which domain task runs when. Imported by the
process that runs a ``Worker`` (the web app's lifespan or ``qianbao worker``)."""

from __future__ import annotations

from qianbao import notifications
from qianbao.ledger import Ledger
from qianbao.wallet import tasks as wallet_tasks
from qianbao.worker import JobContext, registry


async def expire_ledger_holds(ctx: JobContext) -> None:
    ledger = await Ledger.of_session(ctx.session)
    await ledger.expire_due_holds()


def register_tasks(interval_overrides: dict[str, float] | None = None) -> None:
    intervals = {"ledger.expire_holds": 10.0, **(interval_overrides or {})}
    registry.periodic("ledger.expire_holds", intervals["ledger.expire_holds"], expire_ledger_holds)
    notifications.register(registry)
    registry.register(
        wallet_tasks.TASK, wallet_tasks.notify_transfer, subscribes=[wallet_tasks.TOPIC]
    )
