"""The sender as a standalone periodic worker task (no transaction held across HTTP), in every
worker (SKIP LOCKED and the lease keep them apart). Registered by ``qianbao.tasks``."""

from __future__ import annotations

from qianbao.support.im.outbound import send_due
from qianbao.worker.registry import StandaloneContext, TaskRegistry

SEND_TASK = "support.im_send"


def register(registry: TaskRegistry, every_s: float = 1.0) -> None:
    async def send(ctx: StandaloneContext) -> None:
        settings = ctx.services["settings"]
        for _ in range(20):  # a backlog: keep going a while, 50 at a time
            if await send_due(ctx.db, settings, ctx.clock) < 50:
                return

    registry.periodic(SEND_TASK, every_s, send, standalone=True)
