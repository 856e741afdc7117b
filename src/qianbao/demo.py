"""Demo data for `make run`: loaded idempotently, so running it twice changes nothing.

Each domain adds a loader with ``@demo_loader``; a loader returns the logins it created or found,
which the CLI prints. Work that books money at a past moment is not done by the loader itself but
scheduled with ``at_moment``: once every loader ran, the moments of all domains run in the order
of their timestamps, so every ledger account's postings are in time order (a balance "at" an
instant is the last posting before it: a month of coffee booked after a month of transfers
would break the statements).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from qianbao.kernel.db import Database


@dataclass(frozen=True)
class DemoLogin:
    role: str
    login: str
    password: str
    note: str = ""


Loader = Callable[[Database], Awaitable[list[DemoLogin]]]
Moment = Callable[[], Awaitable[None]]
_loaders: list[tuple[int, str, Loader]] = []
_timeline: list[tuple[datetime, int, Moment]] = []


def at_moment(at: datetime, fn: Moment) -> None:
    """Run ``fn`` (which books at ``at``) after the loaders, in time order with the others."""
    _timeline.append((at, len(_timeline), fn))


def demo_loader(name: str, *, order: int = 100) -> Callable[[Loader], Loader]:
    def decorator(fn: Loader) -> Loader:
        if all(existing != name for _, existing, _ in _loaders):
            _loaders.append((order, name, fn))
        return fn

    return decorator


def _import_domain_loaders() -> None:
    """Domains register their loaders in a ``demo`` module; import those that exist."""
    import importlib

    for module in (
        "qianbao.ledger.demo",
        "qianbao.identity.demo",
        "qianbao.wallet.demo",
        "qianbao.support.demo",
        "qianbao.merchants.demo",
        "qianbao.banking.demo",
        "qianbao.finance.demo",
        "qianbao.identity.demo_kyc",
        "qianbao.support.console.demo_kyc",
        "qianbao.wallet.demo_fx",
        "qianbao.wallet.demo_chain",
        "qianbao.merchants.demo_agents",
        "qianbao.wallet.demo_budgets",
    ):
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if not (exc.name and module.startswith(exc.name)):
                raise


async def load_demo_data(db: Database) -> list[DemoLogin]:
    _import_domain_loaders()
    logins: list[DemoLogin] = []
    _timeline.clear()
    for _, _, loader in sorted(_loaders, key=lambda item: (item[0], item[1])):
        logins.extend(await loader(db))
    moments = sorted(_timeline, key=lambda item: (item[0], item[1]))
    _timeline.clear()
    for _, _, fn in moments:
        await fn()
    return logins
