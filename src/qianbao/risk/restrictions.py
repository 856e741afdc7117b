"""Restrictions (D3): an account that moves money very often in a short time is restricted —
no more money out — until an operator reviews it and lifts the restriction. ``too_frequent`` is
the pure rule; the wallet counts and applies it in the transaction of the operation."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from qianbao.kernel.clock import clock_of
from qianbao.kernel.errors import DomainError, ErrorKind
from qianbao.kernel.i18n import N_
from qianbao.risk.models import Restriction


class AccountRestricted(DomainError):
    code = "risk.account_restricted"
    kind = ErrorKind.FORBIDDEN
    message = N_(
        "Your account is restricted for a review after many transactions in a short time. "
        "Money can still come in; to send money, pay shops or withdraw, contact customer service."
    )


class RestrictionNotFound(DomainError):
    code = "risk.restriction_not_found"
    kind = ErrorKind.NOT_FOUND
    message = N_("This account has no active restriction.")


def too_frequent(recent_count: int, max_count: int) -> bool:
    """``recent_count`` operations in the window, this one included; 0 turns the rule off."""
    return max_count > 0 and recent_count >= max_count


async def active(session: Any, user_id: uuid.UUID) -> Restriction | None:
    return (
        await session.execute(
            select(Restriction).where(
                Restriction.user_id == user_id, Restriction.lifted_at.is_(None)
            )
        )
    ).scalar_one_or_none()


async def restrict(session: Any, user_id: uuid.UUID, reason: str, details: str) -> None:
    await session.execute(
        insert(Restriction)
        .values(user_id=user_id, reason=reason, details=details[:300])
        .on_conflict_do_nothing(
            index_elements=["user_id"], index_where=Restriction.lifted_at.is_(None)
        )
    )


async def list_active(session: Any) -> list[Restriction]:
    rows = await session.execute(
        select(Restriction).where(Restriction.lifted_at.is_(None)).order_by(Restriction.created_at)
    )
    return list(rows.scalars())


async def lift(
    session: Any, user_id: uuid.UUID, *, actor_id: uuid.UUID | None, note: str
) -> Restriction:
    row = await active(session, user_id)
    if row is None:
        raise RestrictionNotFound()
    row.lifted_at = clock_of(session).now()
    row.lifted_by = actor_id
    row.review_note = note[:300]
    await session.flush()
    return row
