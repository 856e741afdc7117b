"""The development chain: a ``ChainProvider`` that behaves like TRON and Ethereum carrying USDT,
kept in this database (``dev_chain_transfers``) and never used in production.

- Blocks are made as the injected clock moves: block ``n`` of a network is made at its genesis
  plus ``n`` times the block time (``chain.dev_block_seconds``: TRON ~3 s, Ethereum ~12 s), so
  a test moves the chain by moving the clock and ``make run``'s chain moves in real time.
- A transfer goes into the next block; it has no confirmation until that block is made, then
  one more with every block (its own block counts: seen in the latest block = 1).
- Deposit addresses are derived from an HMAC of the account reference (the user id) with the
  deployment's secret key: the same user gets the same address, valid on its network.
- ``faucet`` sends test USDT to an address (the deposit page's development form,
  ``qianbao chain dev-send``). ``send`` is a withdrawal from the operator's wallet: its hash is
  derived from the idempotency key, so the same key is the same transaction.
- USDT's contract refuses transfers to blacklisted addresses: here the two ``FAILING``
  addresses. A withdrawal to one is accepted, goes into a block and then fails (reverted)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from qianbao.kernel.clock import clock_of
from qianbao.rails.chain import NETWORKS, ChainTx, SeenTransfer, Sent, TxState
from qianbao.rails.chain_addresses import eth_address, tron_address
from qianbao.rails.chain_models import DevChainTransfer

# Each network's genesis: when its block ``base`` was made (the numbers look like the real
# chains' at the end of 2026).
GENESIS = {
    "TRC20": (datetime(2026, 1, 1, tzinfo=UTC), 78_000_000),
    "ERC20": (datetime(2026, 1, 1, tzinfo=UTC), 24_000_000),
}
NETWORK_FEE = {"TRC20": "13.3959", "ERC20": "0.000651"}  # what a USDT transfer costs the sender
FAILING = {  # USDT's blacklist on the development chain: transfers to these revert
    "TRC20": tron_address(bytes(19) + b"\x69"),
    "ERC20": eth_address(bytes(19) + b"\x69"),
}


class DevChain:
    name = "dev"

    def __init__(self, key: bytes, block_seconds: dict[str, float], networks: list[str]) -> None:
        self._key = key
        self._block_us = {
            n: max(1, round(float(block_seconds.get(n, 3.0)) * 1_000_000)) for n in NETWORKS
        }
        self.networks = tuple(networks)

    # -- addresses ----------------------------------------------------------------------------
    def _account(self, purpose: str, network: str, ref: str) -> bytes:
        mac = hmac.new(self._key, f"qianbao-dev-chain|{purpose}|{network}|{ref}".encode(), "sha256")
        return mac.digest()[:20]

    def _address(self, purpose: str, network: str, ref: str) -> str:
        account = self._account(purpose, network, ref)
        return tron_address(account) if network == "TRC20" else eth_address(account)

    def deposit_address(self, network: str, account_ref: str) -> str:
        return self._address("deposit", network, account_ref)

    def faucet_address(self, network: str) -> str:
        return self._address("faucet", network, "test-usdt")

    def hot_wallet(self, network: str) -> str:
        return self._address("hot-wallet", network, "operator")

    # -- blocks -------------------------------------------------------------------------------
    def height_at(self, network: str, at: datetime) -> int:
        genesis, base = GENESIS[network]
        return base + (at - genesis) // timedelta(microseconds=self._block_us[network])

    def block_made_at(self, network: str, block: int) -> datetime:
        genesis, base = GENESIS[network]
        return genesis + timedelta(microseconds=self._block_us[network] * (block - base))

    async def head(self, session: Any, network: str) -> int:
        return self.height_at(network, clock_of(session).now())

    # -- reading ------------------------------------------------------------------------------
    def _seen(self, row: DevChainTransfer, head: int) -> SeenTransfer:
        return SeenTransfer(
            network=row.network,
            txid=row.txid,
            log_index=row.log_index,
            from_address=row.from_address,
            to_address=row.to_address,
            amount=row.amount,
            block=row.block if row.block <= head else None,
            confirmations=max(0, head - row.block + 1),
            state=_state(row, head),
        )

    async def transfers(
        self, session: Any, network: str, from_block: int, to_block: int
    ) -> list[SeenTransfer]:
        head = await self.head(session, network)
        rows = (
            await session.execute(
                select(DevChainTransfer)
                .where(
                    DevChainTransfer.network == network,
                    DevChainTransfer.block >= from_block,
                    DevChainTransfer.block <= min(to_block, head),
                    DevChainTransfer.status == "success",  # a reverted transfer logs no event
                )
                .order_by(DevChainTransfer.block, DevChainTransfer.txid, DevChainTransfer.log_index)
            )
        ).scalars()
        return [self._seen(r, head) for r in rows]

    async def transaction(self, session: Any, network: str, txid: str) -> ChainTx | None:
        rows = list(
            (
                await session.execute(
                    select(DevChainTransfer)
                    .where(DevChainTransfer.network == network, DevChainTransfer.txid == txid)
                    .order_by(DevChainTransfer.log_index)
                )
            ).scalars()
        )
        if not rows:
            return None
        head = await self.head(session, network)
        first = rows[0]
        state = _state(first, head)
        return ChainTx(
            network=network,
            txid=txid,
            state=state,
            block=first.block if first.block <= head else None,
            confirmations=max(0, head - first.block + 1),
            transfers=tuple(self._seen(r, head) for r in rows) if state != "failed" else (),
        )

    # -- writing ------------------------------------------------------------------------------
    async def faucet(self, session: Any, network: str, to_address: str, amount: int) -> str:
        """Test USDT to ``to_address`` (a new transaction, in the next block)."""
        now = clock_of(session).now()
        txid = secrets.token_hex(32)
        session.add(
            DevChainTransfer(
                network=network,
                txid=txid,
                log_index=0,
                from_address=self.faucet_address(network),
                to_address=to_address,
                amount=amount,
                block=self.height_at(network, now) + 1,
                status="success",
                kind="faucet",
                network_fee=NETWORK_FEE[network],
                created_at=now,
            )
        )
        await session.flush()
        return txid

    async def send(
        self, session: Any, network: str, to_address: str, amount: int, *, key: str
    ) -> Sent:
        now = clock_of(session).now()
        txid = hashlib.sha256(f"qianbao-dev-chain|send|{network}|{key}".encode()).hexdigest()
        await session.execute(
            insert(DevChainTransfer)
            .values(
                network=network,
                txid=txid,
                log_index=0,
                from_address=self.hot_wallet(network),
                to_address=to_address,
                amount=amount,
                block=self.height_at(network, now) + 1,
                status="failed" if to_address == FAILING[network] else "success",
                kind="send",
                reference=key,
                network_fee=NETWORK_FEE[network],
                created_at=now,
            )
            .on_conflict_do_nothing()
        )
        fee_unit = NETWORKS[network].fee_unit
        return Sent(txid=txid, network_fee=NETWORK_FEE[network], fee_unit=fee_unit)


def _state(row: DevChainTransfer, head: int) -> TxState:
    if row.block > head:
        return "pending"
    return "failed" if row.status == "failed" else "success"
