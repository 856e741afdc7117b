"""USDT on chains settings: ``QIANBAO_CHAIN__*``. Part of :mod:`qianbao.settings`."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

Backend = Literal["dev", "off"]
NetworkCode = Literal["TRC20", "ERC20"]


def _all_networks() -> list[NetworkCode]:
    return ["TRC20", "ERC20"]


class ChainSettings(BaseModel):
    """USDT deposits and withdrawals on chains (TRC-20, ERC-20). Customers see them only while
    USDT is an offered currency (``payments.currencies`` / the finance console)."""

    backend: Backend | None = Field(
        default=None,
        description="dev: a development chain inside Qianbao (blocks made over time, test USDT "
        "sent from a form or `qianbao chain dev-send`); refused in production. off: no USDT "
        "deposits or withdrawals. Unset: dev outside production, off in production.",
    )
    networks: list[NetworkCode] = Field(
        default_factory=_all_networks,
        description="The networks customers may use, in the order they are offered.",
    )
    confirmations: dict[str, int] = Field(
        default_factory=lambda: {"TRC20": 20, "ERC20": 5},
        description="Blocks on top of a deposit's (its own included) before it is credited, "
        "and of a withdrawal's before it is complete.",
    )
    withdrawal_fee: dict[str, str] = Field(
        default_factory=lambda: {"TRC20": "1.000000", "ERC20": "5.000000"},
        description="The fee in USDT a customer pays per withdrawal, per network (it covers "
        "the network fee the operator's wallet pays in TRX or ETH).",
    )
    withdrawal_min: dict[str, str] = Field(
        default_factory=lambda: {"TRC20": "10", "ERC20": "20"},
        description="The smallest withdrawal in USDT, per network.",
    )
    dev_block_seconds: dict[str, float] = Field(
        default_factory=lambda: {"TRC20": 3.0, "ERC20": 12.0},
        description="The development chain: seconds between blocks, per network (with the "
        "default confirmations a deposit is credited about a minute after it is sent).",
    )
    poll_interval_s: float = Field(
        default=3.0,
        description="How often the worker reads the chains (new deposits, "
        "confirmations, withdrawals to send).",
    )
    rescan_blocks: int = Field(
        default=30,
        ge=0,
        description="Blocks read again on every poll (a deposit seen twice is credited once).",
    )
    max_scan_blocks: int = Field(
        default=10_000,
        ge=1,
        description="Blocks read at most per poll (catching up after a stop takes several polls).",
    )
