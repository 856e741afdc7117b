"""The operator read API of the ledger (JSON). Users' own views come with the wallet."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query

from qianbao.kernel.http import TxRoute, db_session_dep, require_operator
from qianbao.ledger import accounts
from qianbao.ledger.errors import AccountNotFound
from qianbao.ledger.schemas import (
    AccountRead,
    BalancesRead,
    EntryRead,
    HoldRead,
    PostingRead,
    StatementLineRead,
    StatementRead,
    amount,
)
from qianbao.ledger.service import Ledger

router = APIRouter(
    prefix="/api/v1/ledger",
    tags=["ledger (operators)"],
    route_class=TxRoute,
    dependencies=[Depends(require_operator)],
)
Session = Annotated[Any, Depends(db_session_dep)]


def _entry(entry: dict[str, Any]) -> EntryRead:
    return EntryRead(
        **{
            k: entry[k]
            for k in (
                "id",
                "entry_type",
                "metadata",
                "effective_at",
                "created_at",
                "reverses_entry_id",
                "reversed_by",
                "hold_id",
            )
        },
        postings=[
            PostingRead(
                account_id=p["account_id"],
                currency=p["currency"],
                amount=amount(p["amount"], p["currency"]),
                balance_after=amount(p["balance_after"], p["currency"]),
            )
            for p in entry["postings"]
        ],
    )


def _bigint(account_id: int) -> None:
    """Account ids are PostgreSQL bigints: a larger number names no account (404, not 500)."""
    if not 1 <= account_id <= 2**63 - 1:
        raise AccountNotFound()


@router.get("/accounts/{account_id}", response_model=AccountRead, summary="One account")
async def get_account(account_id: int, session: Session) -> AccountRead:
    _bigint(account_id)
    ledger = await Ledger.of_session(session)
    acc = await accounts.get_account(ledger.conn, account_id)
    cur = acc.currency
    return AccountRead(
        id=acc.id,
        currency=cur,
        kind=acc.kind,
        owner_id=acc.owner_id,
        code=acc.code,
        status=acc.status,
        no_negative=acc.no_negative,
        no_positive=acc.no_positive,
        posted=amount(acc.posted, cur),
        pending_out=amount(acc.pending_out, cur),
        pending_in=amount(acc.pending_in, cur),
        available=amount(acc.available, cur),
        version=acc.version,
        created_at=acc.created_at,
    )


@router.get(
    "/accounts/{account_id}/balances",
    response_model=BalancesRead,
    summary="Balances now or at an instant",
)
async def get_balances(
    account_id: int, session: Session, at: datetime | None = None
) -> BalancesRead:
    _bigint(account_id)
    ledger = await Ledger.of_session(session)
    b = await accounts.balances(ledger.conn, account_id, at)
    cur = b.currency
    return BalancesRead(
        account_id=b.account_id,
        currency=cur,
        posted=amount(b.posted, cur),
        pending_out=amount(b.pending_out, cur),
        pending_in=amount(b.pending_in, cur),
        available=amount(b.available, cur),
        as_of=b.as_of,
    )


@router.get(
    "/accounts/{account_id}/statement",
    response_model=StatementRead,
    summary="Statement, newest first",
)
async def get_statement(
    account_id: int,
    session: Session,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    since: datetime | None = None,
    until: datetime | None = None,
) -> StatementRead:
    _bigint(account_id)
    ledger = await Ledger.of_session(session)
    acc = await accounts.get_account(ledger.conn, account_id)
    page = await accounts.statement(
        ledger.conn, account_id, cursor=cursor, limit=limit, since=since, until=until
    )
    cur = acc.currency
    return StatementRead(
        account_id=account_id,
        currency=cur,
        next_cursor=page.next_cursor,
        lines=[
            StatementLineRead(
                posting_id=line.posting_id,
                entry_id=line.entry_id,
                entry_type=line.entry_type,
                amount=amount(line.amount, cur),
                balance_after=amount(line.balance_after, cur),
                created_at=line.created_at,
                effective_at=line.effective_at,
                metadata=line.metadata,
            )
            for line in page.lines
        ],
    )


@router.get("/entries/{entry_id}", response_model=EntryRead, summary="One journal entry")
async def get_entry(entry_id: UUID, session: Session) -> EntryRead:
    ledger = await Ledger.of_session(session)
    return _entry(await ledger.entry(entry_id))


@router.get(
    "/entries/by-key/{key}", response_model=EntryRead, summary="The entry an idempotency key made"
)
async def get_entry_by_key(key: str, session: Session) -> EntryRead:
    ledger = await Ledger.of_session(session)
    return _entry(await ledger.entry_by_key(key))


@router.get("/holds/{hold_id}", response_model=HoldRead, summary="One hold")
async def get_hold(hold_id: UUID, session: Session) -> HoldRead:
    ledger = await Ledger.of_session(session)
    h = await ledger.hold_info(hold_id)
    cur = h["currency"]
    return HoldRead(
        **{
            k: h[k]
            for k in (
                "id",
                "debit_account_id",
                "credit_account_id",
                "currency",
                "status",
                "entry_type",
                "metadata",
                "expires_at",
                "created_at",
                "resolved_at",
                "entry_id",
            )
        },
        amount=amount(h["amount"], cur),
        posted_amount=amount(h["posted_amount"], cur) if h["posted_amount"] is not None else None,
    )
