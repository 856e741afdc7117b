"""Demo merchant for `make run` (idempotent): 钱包咖啡 / Qianbao Coffee, active, with a staff
login (two-step verification on, like the demo agents), a test API key, a webhook endpoint on
the demo shop (``/demo-shop``), a promo code, and a month of payments by the demo customers —
some refunded, the past business days settled to its bank account — so the dashboard, the
settlement report and the customers' histories have something to show.

The API key and the webhook secret are written to ``var/demo-shop.json`` for the demo shop."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from qianbao import webhooks
from qianbao.demo import DemoLogin, at_moment, demo_loader
from qianbao.identity.accounts import by_phone
from qianbao.identity.context import IdentityContext
from qianbao.identity.demo import AGENT_TOTP_SECRET, DEMO_PASSWORD
from qianbao.identity.models import User
from qianbao.identity.passwords import hash_password
from qianbao.identity.phones import normalize_phone
from qianbao.kernel.clock import LOCAL_TZ, FrozenClock, with_clock
from qianbao.kernel.db import Database
from qianbao.kernel.money import Money
from qianbao.merchants import checkout, customer, keys, onboarding, promo, refunds, settlement
from qianbao.merchants.models import ApiKey, Merchant, MerchantStaff
from qianbao.merchants.models_payments import Payment
from qianbao.rails import factory as rails

STAFF_PHONE = "13500135000"
DEMO_USCC = "91310000MA1FL4TJ46"
API_KEY = "qb_sk_demo_QianbaoCoffee_2026_not_for_production"
CUSTOMERS = ("+8613800138000", "+8613900139000")
DEMO_PIN = "258013"
WEBHOOK_PATH = "/api/demo-shop/webhooks"
# (days ago, hour, customer index, amount, refund): a month of coffee.
SALES = [
    (d, h, i, amount, refund)
    for d, h, i, amount, refund in [
        (27, 8, 0, "28.00", None), (26, 9, 1, "22.00", None), (25, 15, 0, "32.00", "32.00"),
        (23, 8, 1, "28.00", None), (22, 10, 0, "56.00", "28.00"), (20, 8, 1, "22.00", None),
        (19, 16, 0, "28.00", None), (16, 9, 1, "60.00", None), (15, 8, 0, "22.00", None),
        (13, 14, 1, "32.00", None), (12, 8, 0, "28.00", None), (9, 9, 1, "28.00", "10.00"),
        (8, 8, 0, "22.00", None), (6, 15, 1, "84.00", None), (5, 8, 0, "28.00", None),
        (2, 9, 1, "32.00", None), (1, 8, 0, "22.00", None), (0, 8, 1, "28.00", None),
    ]
]  # fmt: skip


def _moment(days_ago: int, hour: int, now: datetime) -> datetime:
    day = (now.astimezone(LOCAL_TZ) - timedelta(days=days_ago)).date()
    at = datetime(day.year, day.month, day.day, hour, 17, tzinfo=LOCAL_TZ)
    return min(at, now - timedelta(minutes=30))


def shop_config_path(settings: Any) -> Path:
    return Path(settings.var_dir) / "demo-shop.json"


async def _merchant(session: Any, ctx: IdentityContext) -> Merchant:
    found = (
        await session.execute(select(Merchant).where(Merchant.uscc == DEMO_USCC))
    ).scalar_one_or_none()
    if found is not None:
        return found
    merchant = await onboarding.create(
        session,
        ctx,
        onboarding.Application(
            name_zh="钱包咖啡",
            name_en="Qianbao Coffee",
            category="5814",
            uscc=DEMO_USCC,
            settlement_number="6222020000000004242",
            settlement_holder="上海钱包咖啡有限公司",
            website=f"{ctx.settings.http.base_url}/demo-shop",
        ),
        status="active",
    )
    merchant.code = "COFFEE88"
    merchant.created_at = ctx.clock.now() - timedelta(days=40)
    phone = normalize_phone(STAFF_PHONE, "CN")
    staff = User(
        phone=phone,
        password_hash=await hash_password(DEMO_PASSWORD),
        real_name="店长小陈",
        role="merchant_staff",
        locale="zh_CN",
    )
    session.add(staff)
    await session.flush()
    staff.totp_secret = ctx.totp_sealer.seal(AGENT_TOTP_SECRET.encode(), aad=str(staff.id).encode())
    staff.totp_enabled_at = ctx.clock.now()
    session.add(MerchantStaff(user_id=staff.id, merchant_id=merchant.id, role="owner"))
    key = ApiKey(
        merchant_id=merchant.id,
        name="Demo shop",
        prefix=API_KEY[: keys.VISIBLE],
        secret_hash=ctx.keyed_hash(keys.HASH_PURPOSE, API_KEY),
        scopes=["payments", "read", "refunds"],
        created_by=staff.id,
    )
    session.add(key)
    await session.flush()
    return merchant


async def _endpoint(session: Any, ctx: IdentityContext, merchant: Merchant) -> str:
    url = f"{ctx.settings.http.base_url}{WEBHOOK_PATH}"
    for endpoint in await webhooks.list_endpoints(session, merchant.id):
        if endpoint.url == url:
            return str(
                await webhooks.reveal_secret(session, ctx.settings, merchant.id, endpoint.id)
            )
    _, secret = await webhooks.create_endpoint(
        session,
        ctx.settings,
        owner_id=merchant.id,
        url=url,
        event_types=list(webhooks.EVENT_TYPES),
        description="Demo shop",
    )
    return secret


@demo_loader("merchants", order=30)
async def load(db: Database) -> list[DemoLogin]:
    from qianbao.settings import get_settings

    settings = get_settings().model_copy(deep=True)
    settings.webhooks.allow_private_targets = True  # the demo shop listens on localhost
    ctx = IdentityContext(settings=settings, db=db, clock=db.clock)
    now = db.clock.now()
    async with db.transaction() as session:
        merchant = await _merchant(session, ctx)
        secret = await _endpoint(session, ctx, merchant)
        seeded = (
            await session.execute(
                select(Payment.id).where(
                    Payment.merchant_id == merchant.id, Payment.order_reference == "DEMO-000"
                )
            )
        ).first() is not None
        existing = await promo.list_promos(session)
        if not any(p.code == "WELCOME5" for p in existing):
            await promo.create(
                session,
                promo.Definition(
                    code="WELCOME5", kind="fixed", value=500, currency="CNY", min_spend=20_00,
                    max_discount=None, once_per_user=True, budget=1000_00, merchant_id=None,
                    valid_from=now - timedelta(days=30), valid_until=now + timedelta(days=90),
                    description="新客立减 5 元 / 5 yuan off your first coffee",
                ),
                by=None,
            )  # fmt: skip
    shop_config_path(settings).parent.mkdir(parents=True, exist_ok=True)
    shop_config_path(settings).write_text(
        json.dumps({"api_key": API_KEY, "webhook_secret": secret})
    )
    if not seeded:
        _sales(db, ctx, merchant.id, now)
    return [
        DemoLogin(
            role="merchant_staff",
            login=STAFF_PHONE,
            password=DEMO_PASSWORD,
            note=f"/merchant · TOTP secret {AGENT_TOTP_SECRET}",
        ),
        DemoLogin(role="merchant API key", login=API_KEY, password="", note="/demo-shop"),
    ]


def _sales(db: Database, ctx: IdentityContext, merchant_id: Any, now: datetime) -> None:
    """The month of sales, each booked at its moment (a refund two hours later, the
    settlement run an hour after that), in time order with the other domains' demo history."""
    provider = rails.payouts(ctx.settings)
    latest = now - timedelta(minutes=1)

    def sale(n: int, at: datetime, who: int, amount: str) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            async with db.transaction() as session:
                with_clock(session, FrozenClock(at))
                merchant = await onboarding.get(session, merchant_id)
                user = await by_phone(session, CUSTOMERS[who])
                if user is None or user.pin_hash is None:
                    return
                cs, _ = await checkout.create_session(
                    session, ctx.settings, merchant, amount=Money.parse(amount, "CNY"),
                    order_ref=f"DEMO-{n:03d}", desc="咖啡 coffee", success_url=None,
                    cancel_url=None, expires_in_minutes=30, key=f"demo-{n}",
                )  # fmt: skip
                await customer.pay_checkout(session, ctx, user, str(cs.id), pin=DEMO_PIN)

        return run

    def give_back(n: int, at: datetime, refund: str) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            async with db.transaction() as session:
                with_clock(session, FrozenClock(at))
                merchant = await onboarding.get(session, merchant_id)
                payment_id = (
                    await session.execute(
                        select(Payment.id).where(
                            Payment.merchant_id == merchant.id,
                            Payment.order_reference == f"DEMO-{n:03d}",
                        )
                    )
                ).scalar_one_or_none()
                if payment_id is None:
                    return
                await refunds.refund(
                    session, ctx, merchant, str(payment_id),
                    amount=Money.parse(refund, "CNY"), reason="顾客退货 returned",
                    key=f"demo-refund-{n}",
                )  # fmt: skip

        return run

    def settle(at: datetime) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            async with db.transaction() as session:
                with_clock(session, FrozenClock(at))
                await settlement.run(session, ctx.settings, provider)
                await settlement.submit_created(session, ctx.settings, provider)
                await settlement.poll(session, provider)

        return run

    for n, (days_ago, hour, who, amount, refund) in enumerate(SALES):
        at = _moment(days_ago, hour, now)
        at_moment(at, sale(n, at, who, amount))
        if refund:
            at_moment(min(at + timedelta(hours=2), latest), give_back(n, at, refund))
        at_moment(min(at + timedelta(hours=3), latest), settle(at))
