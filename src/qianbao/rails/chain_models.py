"""The development chain's own record (``rails.chain_dev``): every USDT transfer it carried, with
the block it went into. It stands in for the chain itself; the wallet's tables never point
into it (they keep the network and the transaction hash, as with a real chain)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, DateTime, Index, Integer, String
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from qianbao.kernel.db import Base
from qianbao.kernel.ids import uuid7


class DevChainTransfer(Base):
    __tablename__ = "dev_chain_transfers"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid7)
    network: Mapped[str] = mapped_column(String(8))
    txid: Mapped[str] = mapped_column(String(64))
    log_index: Mapped[int] = mapped_column(Integer)
    from_address: Mapped[str] = mapped_column(String(64))
    to_address: Mapped[str] = mapped_column(String(64))
    amount: Mapped[int] = mapped_column(BigInteger)  # USDT minor units
    block: Mapped[int] = mapped_column(BigInteger)  # the block it went into
    status: Mapped[str] = mapped_column(String(8))  # success | failed (reverted)
    kind: Mapped[str] = mapped_column(String(12))  # faucet (test USDT) | send (a withdrawal)
    reference: Mapped[str | None] = mapped_column(String(200))  # the sender's idempotency key
    network_fee: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint("status IN ('success', 'failed')", name="status_known"),
        CheckConstraint("kind IN ('faucet', 'send')", name="kind_known"),
        CheckConstraint("amount > 0", name="amount_positive"),
        Index("uq_dev_chain_transfers_tx", "network", "txid", "log_index", unique=True),
        Index("uq_dev_chain_transfers_reference", "network", "reference", unique=True),
        Index("ix_dev_chain_transfers_block", "network", "block"),
    )
