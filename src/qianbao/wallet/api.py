"""The wallet JSON API: balances, limits, transfers (with ``Idempotency-Key``). The history is
in api_history, monthly statements in api_statements."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Request, Response
from pydantic import BaseModel, Field

from qianbao.identity.deps import Caller, client_ip, identity_ctx, require_ready_caller
from qianbao.kernel.http import TxRoute, db_session_dep
from qianbao.kernel.money import Money
from qianbao.risk.limits import CHANNELS
from qianbao.wallet import accounts, history, limits, step_up, transfer
from qianbao.wallet.errors import IdempotencyKeyMissing
from qianbao.wallet.models import WalletTransaction

router = APIRouter(prefix="/api/v1/wallet", tags=["wallet"], route_class=TxRoute)
DbSession = Annotated[Any, Depends(db_session_dep)]
Me = Annotated[Caller, Depends(require_ready_caller)]
# Every amount a client sends comes with its currency: no silent default.
CurrencyIn = Annotated[
    str, Field(max_length=8, examples=["CNY"], description="The amount's currency (required)")
]


class MoneyOut(BaseModel):
    amount: str
    currency: str


def money(minor: int, currency: str) -> MoneyOut:
    return MoneyOut(amount=Money(minor, currency).to_decimal_string(), currency=currency)


class BalanceOut(BaseModel):
    currency: str
    available: MoneyOut
    pending: MoneyOut
    status: str


class TransactionOut(BaseModel):
    id: str
    reference: str
    kind: str
    direction: Literal["in", "out"]
    status: str
    amount: MoneyOut
    fee: MoneyOut
    balance_after: MoneyOut | None
    counterparty_name: str | None
    counterparty_phone: str | None
    note: str | None
    created_at: datetime = Field(description="When it was asked for")
    listed_at: datetime = Field(
        description="When its money moved in the ledger (a withdrawal when it settled, a top-up "
        "when the bank confirmed it), or, while nothing has moved, when it was asked for. The "
        "history is ordered by it: each `balance_after` is the one before it plus or minus this "
        "row (pending and failed rows have none)."
    )


class WalletOut(BaseModel):
    balances: list[BalanceOut]
    recent: list[TransactionOut]


class RecipientIn(BaseModel):
    to: str = Field(max_length=64, description="Phone number or user id of the recipient")


class RecipientOut(BaseModel):
    user_id: str
    masked_name: str
    masked_phone: str


class PasskeyProof(BaseModel):
    challenge_id: str = Field(max_length=64)
    credential: dict[str, Any] = Field(description="The WebAuthn assertion, as JSON")


class PasskeyOptionsOut(BaseModel):
    challenge_id: str
    publicKey: dict[str, Any]


class TransferIn(RecipientIn):
    amount: str = Field(max_length=32, examples=["12.34"])
    currency: CurrencyIn
    note: str | None = Field(default=None, max_length=200)
    pin: str = Field(max_length=12)
    step_up_code: str | None = Field(
        default=None,
        max_length=12,
        description="When the answer was 403 `risk.step_up_required`: the SMS code from "
        "POST /api/v1/wallet/transfers/step-up-code (it names this amount and payee, and works "
        "only for them). Send the same request again, with the same Idempotency-Key.",
    )
    step_up_passkey: PasskeyProof | None = Field(
        default=None,
        description="Instead of the SMS code: a passkey's answer to the challenge from "
        "POST /api/v1/wallet/transfers/step-up-passkey (the challenge carries this amount and "
        "payee, so the signature confirms them).",
    )


class StepUpIn(RecipientIn):
    amount: str = Field(max_length=32, examples=["12.34"])
    currency: CurrencyIn


class TransferOut(BaseModel):
    reference: str
    status: Literal["completed", "pending", "failed"] = Field(
        description='`pending`: held by the risk rules until you answer "Was this you?" '
        "(see `held`); answered 202 instead of 201"
    )
    amount: MoneyOut
    recipient: RecipientOut
    note: str | None
    balance_after: MoneyOut | None
    created_at: datetime
    replayed: bool
    held: str | None = Field(
        default=None,
        description="The held transfer's id: answer it at POST /api/v1/wallet/held/{id}/yes "
        "(with the SMS code) or /no",
    )


class PageOut(BaseModel):
    transactions: list[TransactionOut]
    next_cursor: str | None


def transaction_out(row: WalletTransaction) -> TransactionOut:
    cur = row.currency
    return TransactionOut(
        id=str(row.id),
        reference=row.reference,
        kind=row.kind,
        direction=row.direction,
        status=row.status,
        amount=money(row.amount, cur),
        fee=money(row.fee, cur),
        balance_after=money(row.balance_after, cur) if row.balance_after is not None else None,
        counterparty_name=row.counterparty_name,
        counterparty_phone=row.counterparty_phone,
        note=row.note,
        created_at=row.created_at,
        listed_at=row.listed_at,
    )


@router.get("", response_model=WalletOut, summary="Balances per currency and recent transactions")
async def wallet_home(s: DbSession, caller: Me) -> WalletOut:
    balances = await accounts.balances(s, caller.user.id)
    page = await history.list_transactions(s, caller.user.id, history.Filters(), limit=5)
    return WalletOut(
        balances=[
            BalanceOut(
                currency=b.currency,
                available=money(b.available, b.currency),
                pending=money(b.pending, b.currency),
                status=b.status,
            )
            for b in balances
        ],
        recent=[transaction_out(r) for r in page.rows],
    )


class LimitOut(BaseModel):
    channel: str
    single_max: MoneyOut
    daily_max: MoneyOut
    daily_count: int
    monthly_max: MoneyOut
    monthly_count: int
    remaining_today: MoneyOut
    remaining_this_month: MoneyOut


@router.get(
    "/limits", response_model=list[LimitOut], summary="My limits per channel and what is left"
)
async def my_limits(s: DbSession, caller: Me, currency: str = "CNY") -> list[LimitOut]:
    out = []
    for channel in CHANNELS:
        limit, decision = await limits.allowance(s, caller.user, channel, currency)
        out.append(
            LimitOut(
                channel=channel,
                single_max=money(limit.single_max, currency),
                daily_max=money(limit.daily_max, currency),
                daily_count=limit.daily_count,
                monthly_max=money(limit.monthly_max, currency),
                monthly_count=limit.monthly_count,
                remaining_today=money(decision.remaining_today, currency),
                remaining_this_month=money(decision.remaining_this_month, currency),
            )
        )
    return out


@router.post(
    "/transfers/preview", response_model=RecipientOut, summary="Who will receive the money (masked)"
)
async def preview(body: RecipientIn, request: Request, s: DbSession, caller: Me) -> RecipientOut:
    r = await transfer.find_recipient(s, identity_ctx(request), caller.user, body.to)
    return RecipientOut(
        user_id=str(r.user_id), masked_name=r.masked_name, masked_phone=r.masked_phone
    )


@router.post(
    "/transfers", response_model=TransferOut, status_code=201, summary="Send money to another user"
)
async def send(
    body: TransferIn,
    request: Request,
    response: Response,
    s: DbSession,
    caller: Me,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> TransferOut:
    if not idempotency_key:
        raise IdempotencyKeyMissing()
    amount = Money.parse(body.amount, body.currency, allow_zero=False)
    done = await transfer.send(
        s,
        identity_ctx(request),
        caller.user,
        to=body.to,
        amount=amount,
        note=body.note,
        pin=body.pin,
        key=idempotency_key,
        device_id=caller.session.device_id,
        proof=step_up.Proof.of(
            body.step_up_code,
            body.step_up_passkey.model_dump() if body.step_up_passkey else None,
        ),
    )
    r = done.recipient
    if done.held_id is not None and done.status == "pending":
        response.status_code = 202
    return TransferOut(
        reference=done.reference,
        status=done.status,
        amount=money(amount.minor, amount.currency),
        recipient=RecipientOut(
            user_id=str(r.user_id), masked_name=r.masked_name, masked_phone=r.masked_phone
        ),
        note=done.note,
        balance_after=money(done.balance_after, amount.currency)
        if done.status == "completed"
        else None,
        created_at=done.created_at,
        replayed=done.replayed,
        held=str(done.held_id) if done.held_id else None,
    )


@router.post(
    "/transfers/step-up-code",
    response_model=RecipientOut,
    status_code=202,
    summary="Send the SMS code a held-back transfer needs (risk.step_up_required)",
)
async def step_up_code(body: StepUpIn, request: Request, s: DbSession, caller: Me) -> RecipientOut:
    amount = Money.parse(body.amount, body.currency, allow_zero=False)
    r = await transfer.request_step_up_code(
        s, identity_ctx(request), caller.user, to=body.to, amount=amount, ip=client_ip(request)
    )
    return RecipientOut(
        user_id=str(r.user_id), masked_name=r.masked_name, masked_phone=r.masked_phone
    )


@router.post(
    "/transfers/step-up-passkey",
    response_model=PasskeyOptionsOut,
    summary="WebAuthn options to confirm a held-back transfer with a passkey",
)
async def step_up_passkey(
    body: StepUpIn, request: Request, s: DbSession, caller: Me
) -> PasskeyOptionsOut:
    """The challenge is 16 random bytes and the SHA-256 of the transfer's amount and payee: the
    passkey's signature is valid for this transfer only. `identity.passkey_failed` when the user
    has no passkey."""
    amount = Money.parse(body.amount, body.currency, allow_zero=False)
    options = await transfer.step_up_passkey_options(
        s, identity_ctx(request), caller.user, to=body.to, amount=amount
    )
    return PasskeyOptionsOut(**options)
