"""The chain interface (B12, USDT): where customers' deposits arrive and withdrawals leave.

A ``ChainProvider`` serves one or more networks (TRC-20 on TRON, ERC-20 on Ethereum) for the
USDT token. The wallet asks it for:

- a deposit address for an account reference (deterministic: the same reference gets the same
  address; the wallet stores it);
- the chain's head (its latest block) and the USDT transfers in a range of blocks — the wallet
  keeps those that reach its own addresses, and reads the last blocks again on every poll, so
  the same deposit is reported more than once;
- one transaction by its hash: its state, the block it is in, its confirmations, its transfers;
- a withdrawal sent with an idempotency key (the same key is the same transaction), which
  returns the transaction hash and the network fee the operator's wallet paid.

Amounts are USDT minor units (6 decimals, as the token itself on both networks). Transaction
hashes are 64 lowercase hex digits without a ``0x`` (an adapter normalises what its chain
says). The development backend (``rails.chain_dev``) behaves like a chain: blocks are made as
the injected clock moves, transfers are included in the next block and gain confirmations as
blocks pass. A real adapter (TronGrid's HTTP API, an Ethereum JSON-RPC node's ``eth_getLogs`` /
``eth_getTransactionReceipt`` / ``eth_sendRawTransaction``) implements the same methods."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from qianbao.kernel.errors import DomainError, ErrorKind
from qianbao.kernel.i18n import N_

TxState = Literal["pending", "success", "failed"]


@dataclass(frozen=True)
class Network:
    code: str  # as the API and the settings name it: TRC20, ERC20
    label: str  # as people write it: TRC-20
    chain: str  # the chain it runs on: TRON, Ethereum
    fee_unit: str  # what the chain's own fee is paid in: TRX, ETH


NETWORKS: dict[str, Network] = {
    "TRC20": Network("TRC20", "TRC-20", "TRON", "TRX"),
    "ERC20": Network("ERC20", "ERC-20", "Ethereum", "ETH"),
}


@dataclass(frozen=True)
class SeenTransfer:
    """One USDT transfer on a chain (a TRC-20 / ERC-20 ``Transfer`` event)."""

    network: str
    txid: str
    log_index: int
    from_address: str
    to_address: str
    amount: int  # USDT minor units
    block: int | None  # None: not in a block yet
    confirmations: int
    state: TxState


@dataclass(frozen=True)
class ChainTx:
    """A transaction as the chain knows it now."""

    network: str
    txid: str
    state: TxState
    block: int | None
    confirmations: int
    transfers: tuple[SeenTransfer, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Sent:
    txid: str
    network_fee: str  # a decimal in ``fee_unit`` (what the operator's wallet paid)
    fee_unit: str


class SendRefused(DomainError):
    """The chain (or the operator's wallet) refused to send: nothing was broadcast."""

    code = "chain.send_refused"
    kind = ErrorKind.CONFLICT
    message = N_("The network refused the transfer. Nothing was sent.")


class ChainProvider(Protocol):
    name: str
    networks: tuple[str, ...]

    def deposit_address(self, network: str, account_ref: str) -> str:
        """The deposit address of ``account_ref`` on ``network`` (always the same)."""
        ...

    async def head(self, session: Any, network: str) -> int:
        """The number of the latest block."""
        ...

    async def transfers(
        self, session: Any, network: str, from_block: int, to_block: int
    ) -> list[SeenTransfer]:
        """The USDT transfers in blocks ``from_block`` to ``to_block`` (both included)."""
        ...

    async def transaction(self, session: Any, network: str, txid: str) -> ChainTx | None:
        """The transaction with this hash (``None``: the chain does not know it)."""
        ...

    async def send(
        self, session: Any, network: str, to_address: str, amount: int, *, key: str
    ) -> Sent:
        """Send ``amount`` USDT from the operator's wallet. The same ``key`` again returns the
        same transaction. Raises ``SendRefused`` when nothing was broadcast."""
        ...
