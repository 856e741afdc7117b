"""The dispatcher as a periodic worker task. Registered by the composition root
(``qianbao.tasks``): ``webhooks.register(registry, settings)``."""

from __future__ import annotations

from qianbao.webhooks.dispatch import dispatch_due
from qianbao.webhooks.targets import make_client
from qianbao.worker.registry import StandaloneContext, TaskRegistry

DISPATCH_TASK = "webhooks.dispatch"
MAX_ROUNDS = 100  # per run: a backlog larger than this waits for the next turn


def register(registry: TaskRegistry, every_s: float = 1.0) -> None:
    """Every ``every_s`` (``settings.webhooks.dispatch_interval_s``), in every worker (they
    share the work through SKIP LOCKED and leases), without holding a connection across HTTP:
    a standalone periodic task. The settings are the worker's (``services["settings"]``)."""

    async def dispatch(ctx: StandaloneContext) -> None:
        settings = ctx.services["settings"]
        ws = settings.webhooks
        claimed = await dispatch_due(ctx.db, settings, ctx.clock)
        if claimed < ws.batch_size:
            return
        # A backlog: keep going, on one client (kept-alive connections) for the whole run.
        async with make_client(settings) as client:
            for _ in range(MAX_ROUNDS):
                claimed = await dispatch_due(ctx.db, settings, ctx.clock, client=client)
                if claimed < ws.batch_size:
                    break

    registry.periodic(DISPATCH_TASK, every_s, dispatch, standalone=True)
