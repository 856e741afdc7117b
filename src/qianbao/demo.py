"""Demo data for `make run`: loaded idempotently, so running it twice changes nothing.

Each domain adds a loader with ``@demo_loader``; a loader returns the logins it created or found,
which the CLI prints.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from qianbao.kernel.db import Database


@dataclass(frozen=True)
class DemoLogin:
    role: str
    login: str
    password: str
    note: str = ""


Loader = Callable[[Database], Awaitable[list[DemoLogin]]]
_loaders: list[tuple[int, str, Loader]] = []


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
    ):
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if not (exc.name and module.startswith(exc.name)):
                raise


async def load_demo_data(db: Database) -> list[DemoLogin]:
    _import_domain_loaders()
    logins: list[DemoLogin] = []
    for _, _, loader in sorted(_loaders, key=lambda item: (item[0], item[1])):
        logins.extend(await loader(db))
    return logins
