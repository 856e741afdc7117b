"""The top-up methods offered (B4: ``GET /api/v1/wallet/topup-methods``, each with its range and
fee) and the asynchronous notifications of Alipay and WeChat Pay: the same path shape as the card
acquirer's callback (``/api/v1/payments/<provider>/notify``, ``api_payments.provider_notify``),
answered the way each provider expects.

- Alipay posts ``application/x-www-form-urlencoded``; the answer is the plain-text body
  ``success`` once handled, else ``failure`` (Alipay retries, 8 times over about 25 hours).
- WeChat Pay posts JSON signed in the ``Wechatpay-*`` headers; the answer is ``204`` once
  handled, else a 4xx with ``{"code": "FAIL", "message": "…"}`` (WeChat Pay retries).

A verified notification settles the top-up once (``topup.settle``: a replay changes nothing); an
unverifiable one, or one whose amount or order is not ours, changes nothing. A refusal is an
answer of 400 or more, so the request's transaction is rolled back. Keys and signatures are never
logged."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel, Field
from starlette.responses import Response

from qianbao.identity.deps import require_ready_caller
from qianbao.kernel.clock import clock_of
from qianbao.kernel.errors import NotFound
from qianbao.kernel.http import TxRoute, db_session_dep, locale_of, settings_of
from qianbao.kernel.logging import get_logger
from qianbao.kernel.translations import gettext
from qianbao.rails import CallbackRejected
from qianbao.rails import factory as rails
from qianbao.rails.alipay import FAILURE_REPLY, SUCCESS_REPLY
from qianbao.wallet import topup, topup_methods
from qianbao.wallet.api import MoneyOut, money

log = get_logger(__name__)
router = APIRouter(prefix="/api/v1/wallet", tags=["top-ups and withdrawals"], route_class=TxRoute)
callbacks = APIRouter(prefix="/api/v1/payments", tags=["provider callbacks"], route_class=TxRoute)
DbSession = Annotated[Any, Depends(db_session_dep)]


class FeeOut(BaseModel):
    fixed: MoneyOut
    percent: str = Field(description='Of the amount: "0.6" is 0.6 %')
    minimum: MoneyOut
    maximum: MoneyOut | None


class TopupMethodOut(BaseModel):
    method: str = Field(description="card, alipay or wechatpay: TopupIn.method")
    name: str = Field(description="In the request's language")
    min_amount: MoneyOut | None = Field(description="Smallest top-up by this method")
    max_amount: MoneyOut | None = Field(description="Largest top-up by this method")
    fee: FeeOut | None = Field(description="Paid on top of the amount; null: none")


def method_out(o: topup_methods.Offer, locale: str) -> TopupMethodOut:
    cur = o.currency
    f = o.fee if o.has_fee else None
    return TopupMethodOut(
        method=o.method,
        name=gettext(locale, o.label),
        min_amount=money(o.minimum, cur) if o.minimum is not None else None,
        max_amount=money(o.maximum, cur) if o.maximum is not None else None,
        fee=FeeOut(
            fixed=money(f.fixed, cur),
            percent=str(f.percent),
            minimum=money(f.minimum, cur),
            maximum=money(f.maximum, cur) if f.maximum is not None else None,
        )
        if f is not None
        else None,
    )


@router.get(
    "/topup-methods",
    response_model=list[TopupMethodOut],
    summary="The ways to top up offered here, each with its range and fee",
    dependencies=[Depends(require_ready_caller)],
)
async def list_methods(request: Request, s: DbSession) -> list[TopupMethodOut]:
    locale = locale_of(request)
    offered = await topup_methods.offers_in_force(s, settings_of(request))
    return [method_out(o, locale) for o in offered]


def _acquirer(request: Request, method: str) -> Any:
    found = rails.acquirers_of(request).for_method(method)
    if found is None:
        raise NotFound()  # this deployment does not offer the method
    return found


@callbacks.post(
    "/alipay/notify",
    response_class=PlainTextResponse,
    summary="Alipay's asynchronous notification (form-encoded, RSA2); answers success or failure",
    responses={400: {"description": "failure: not verified or not ours; Alipay retries"}},
)
async def alipay_notify(request: Request, s: DbSession) -> Response:
    acquirer = _acquirer(request, "alipay")
    try:
        event = acquirer.parse_callback(request.headers, await request.body(), clock_of(s).now())
        if event is not None:
            await topup.settle(s, acquirer.name, event)
    except CallbackRejected:
        log.warning("topup.notify_refused", provider="alipay")
        return PlainTextResponse(FAILURE_REPLY, status_code=400)
    return PlainTextResponse(SUCCESS_REPLY)


def _wechat_fail(status: int, message: str) -> JSONResponse:
    return JSONResponse({"code": "FAIL", "message": message}, status_code=status)


@callbacks.post(
    "/wechatpay/notify",
    status_code=204,
    summary="WeChat Pay's payment notification (Wechatpay-* signature, AES-256-GCM resource)",
    responses={
        401: {"description": '{"code": "FAIL"}: the signature could not be verified'},
        400: {"description": '{"code": "FAIL"}: not an order of ours, or its amount differs'},
    },
)
async def wechatpay_notify(request: Request, s: DbSession) -> Response:
    acquirer = _acquirer(request, "wechatpay")
    try:
        event = acquirer.parse_callback(request.headers, await request.body(), clock_of(s).now())
    except CallbackRejected:
        log.warning("topup.notify_refused", provider="wechatpay", step="verify")
        return _wechat_fail(401, "signature verification failed")
    if event is not None:
        try:
            await topup.settle(s, acquirer.name, event)
        except CallbackRejected:
            log.warning("topup.notify_refused", provider="wechatpay", step="settle")
            return _wechat_fail(400, "order not found or amount mismatch")
    return Response(status_code=204)
