"""USDT on chains: deposit addresses, deposits seen on chain, withdrawals to an address.

A deposit is one USDT transfer to a user's address (network + transaction hash + log index:
unique, so a deposit reported twice, or by two watchers at once, is one row and is credited
once). A withdrawal holds the amount and the fee in the ledger when asked for, posts them when
the transaction is sent, and is complete after the confirmations; a transaction that fails on
chain gives the money back by new entries."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, DateTime, Index, Integer, String, text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

import qianbao.rails.chain_models  # noqa: F401  (the development chain's table)
from qianbao.kernel.db import Base
from qianbao.kernel.ids import uuid7


class ChainAddress(Base):
    """A user's deposit address on a network (derived by the chain backend, then kept)."""

    __tablename__ = "chain_addresses"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid7)
    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    network: Mapped[str] = mapped_column(String(8))
    address: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index("uq_chain_addresses_user_network", "user_id", "network", unique=True),
        Index("uq_chain_addresses_network_address", "network", "address", unique=True),
    )


DEPOSIT_STATUSES = ("pending", "credited", "suspense", "dropped")


class ChainDeposit(Base):
    __tablename__ = "chain_deposits"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid7)
    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    network: Mapped[str] = mapped_column(String(8))
    txid: Mapped[str] = mapped_column(String(64))
    log_index: Mapped[int] = mapped_column(Integer)
    address: Mapped[str] = mapped_column(String(64))  # ours: where it arrived
    from_address: Mapped[str | None] = mapped_column(String(64))
    amount: Mapped[int] = mapped_column(BigInteger)
    block: Mapped[int | None] = mapped_column(BigInteger)
    confirmations: Mapped[int] = mapped_column(Integer, server_default="0")
    needed: Mapped[int] = mapped_column(Integer)  # confirmations wanted when it was seen
    status: Mapped[str] = mapped_column(String(12), server_default="pending")
    transaction_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))  # the wallet row
    entry_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    credited_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint(f"status IN {DEPOSIT_STATUSES!r}", name="status_known"),
        CheckConstraint("amount > 0", name="amount_positive"),
        Index("uq_chain_deposits_tx", "network", "txid", "log_index", unique=True),
        Index("ix_chain_deposits_user_seen", "user_id", "seen_at"),
        Index(
            "ix_chain_deposits_pending",
            "network",
            postgresql_where=text("status = 'pending'"),
        ),
    )


WITHDRAWAL_STATUSES = (
    "queued",  # held in the ledger, to be sent
    "sent",  # broadcast: the money left the wallet; waiting for confirmations
    "completed",  # confirmed
    "failed",  # refused before sending (holds voided) or failed on chain (money given back)
)


class ChainWithdrawal(Base):
    __tablename__ = "chain_withdrawals"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid7)
    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    network: Mapped[str] = mapped_column(String(8))
    address: Mapped[str] = mapped_column(String(64))
    amount: Mapped[int] = mapped_column(BigInteger)
    fee: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(12), server_default="queued")
    txid: Mapped[str | None] = mapped_column(String(64))
    network_fee: Mapped[str | None] = mapped_column(String(40))  # "13.3959 TRX"
    block: Mapped[int | None] = mapped_column(BigInteger)
    confirmations: Mapped[int] = mapped_column(Integer, server_default="0")
    needed: Mapped[int] = mapped_column(Integer)
    failure: Mapped[str | None] = mapped_column(String(200))  # an N_ msgid
    transaction_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))  # the wallet row
    amount_hold_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    fee_hold_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    amount_entry_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    fee_entry_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    idempotency_key: Mapped[str] = mapped_column(String(200))
    fingerprint: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint(f"status IN {WITHDRAWAL_STATUSES!r}", name="status_known"),
        CheckConstraint("amount > 0 AND fee >= 0", name="amounts_positive"),
        Index("uq_chain_withdrawals_user_key", "user_id", "idempotency_key", unique=True),
        Index("uq_chain_withdrawals_tx", "network", "txid", unique=True),
        Index("ix_chain_withdrawals_user_created", "user_id", "created_at"),
        Index(
            "ix_chain_withdrawals_open",
            "status",
            postgresql_where=text("status IN ('queued', 'sent')"),
        ),
    )


class ChainCursor(Base):
    """How far the watcher has read each network (the next poll reads again from a little
    before it)."""

    __tablename__ = "chain_cursors"

    network: Mapped[str] = mapped_column(String(8), primary_key=True)
    block: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
