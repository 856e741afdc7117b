"""USDT on chains (B12): the networks offered with their fee, minimum and confirmations, and each
user's deposit address per network.

USDT moves on a chain only while USDT is an offered currency and a chain backend is on
(``settings.chain``). Deposits are ``wallet.chain_deposits``, withdrawals
``wallet.chain_withdrawals``; the worker's watcher is ``wallet.chain_watch``."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from qianbao.kernel.clock import clock_of
from qianbao.kernel.ids import uuid7
from qianbao.kernel.money import Money
from qianbao.rails import chain_factory
from qianbao.rails.chain import NETWORKS, ChainProvider, Network
from qianbao.rails.chain_addresses import network_of
from qianbao.wallet.chain_errors import ChainUnavailable
from qianbao.wallet.exchange import require_offered
from qianbao.wallet.models_chain import ChainAddress

CURRENCY = "USDT"


@dataclass(frozen=True)
class Offer:
    """One network as offered: amounts in USDT minor units."""

    network: Network
    confirmations: int
    fee: int
    minimum: int

    @property
    def code(self) -> str:
        return self.network.code

    @property
    def label(self) -> str:
        return self.network.label


def clearing_code(network: str) -> str:
    """The ledger's clearing account of a network (kind bank_clearing, USDT)."""
    return f"chain-{network.lower()}"


def _minor(text: str) -> int:
    return Money.parse(text, CURRENCY).minor


def all_offers(settings: Any) -> list[Offer]:
    c = settings.chain
    return [
        Offer(
            network=NETWORKS[code],
            confirmations=max(1, int(c.confirmations.get(code, 20))),
            fee=_minor(c.withdrawal_fee.get(code, "0")),
            minimum=_minor(c.withdrawal_min.get(code, "0")),
        )
        for code in c.networks
    ]


def enabled(settings: Any) -> bool:
    """A chain backend is on (whether USDT is offered is asked of the database)."""
    return chain_factory.backend(settings) != "off" and bool(settings.chain.networks)


async def provider(session: Any, settings: Any) -> ChainProvider:
    """The chain backend, when USDT is offered and chains are on; else a refusal."""
    await require_offered(session, settings, CURRENCY)
    found = chain_factory.provider(settings)
    if found is None or not settings.chain.networks:
        raise ChainUnavailable()
    return found


async def offers(session: Any, settings: Any) -> list[Offer]:
    await provider(session, settings)
    return all_offers(settings)


async def offer(session: Any, settings: Any, network: str) -> Offer:
    await provider(session, settings)
    code = network_of(network, settings.chain.networks)
    return next(o for o in all_offers(settings) if o.code == code)


def needed(settings: Any, network: str) -> int:
    return max(1, int(settings.chain.confirmations.get(network, 20)))


async def deposit_address(
    session: Any,
    settings: Any,
    user_id: uuid.UUID,
    network: str,
    *,
    backend: ChainProvider | None = None,
) -> ChainAddress:
    """The user's deposit address on ``network``: derived by the chain backend the first time
    and kept (two first requests at once keep one). ``backend``: that one, whether or not
    USDT is offered now (the development chain's command)."""
    chain = backend or await provider(session, settings)
    code = network_of(network, settings.chain.networks)
    found = await _address_of(session, user_id, code)
    if found is not None:
        return found
    await session.execute(
        insert(ChainAddress)
        .values(
            id=uuid7(),
            user_id=user_id,
            network=code,
            address=chain.deposit_address(code, str(user_id)),
            created_at=clock_of(session).now(),
        )
        .on_conflict_do_nothing()
    )
    address = await _address_of(session, user_id, code)
    assert address is not None
    return address


async def _address_of(session: Any, user_id: uuid.UUID, network: str) -> ChainAddress | None:
    return (
        await session.execute(
            select(ChainAddress).where(
                ChainAddress.user_id == user_id, ChainAddress.network == network
            )
        )
    ).scalar_one_or_none()


async def owners(session: Any, network: str, addresses: Sequence[str]) -> dict[str, uuid.UUID]:
    """Which of ``addresses`` are users' deposit addresses on ``network`` (address → user)."""
    if not addresses:
        return {}
    rows = await session.execute(
        select(ChainAddress.address, ChainAddress.user_id).where(
            ChainAddress.network == network, ChainAddress.address.in_(list(set(addresses)))
        )
    )
    return {address: user_id for address, user_id in rows}
