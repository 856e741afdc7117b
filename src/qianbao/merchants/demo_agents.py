"""Demo cash agents for `make run` (idempotent): three cash points in different districts of
Shanghai, each with an owner who can sign in (two-step verification with the demo TOTP secret),
opening hours and a float; 张三 cashed in at the first one a few days ago."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from stdnum.cn import uscc as uscc_number

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
from qianbao.ledger import Ledger, transfer
from qianbao.ledger.accounts import system_account_id
from qianbao.merchants import agents, cash_operations, onboarding
from qianbao.merchants.models import Merchant, MerchantStaff

EVERY_DAY = [["08:00", "22:00"]] * 7
POINTS = [
    # (code, USCC body, names, district, address, lat, lon, hours, owner phone, float CNY)
    ("CASHXH01", "91310104MA1AG0001", ("徐汇便民服务点", "Xuhui Cash Point"), ("徐汇区", "Xuhui"),
     ("漕溪北路 28 号（徐家汇地铁站 5 号口）", "28 Caoxi North Road (Xujiahui station, exit 5)"),
     "31.195500", "121.437500", EVERY_DAY, "13711110001", "20000.00"),
    ("CASHPD02", "91310115MA1AG0002", ("陆家嘴便利店", "Lujiazui Convenience Store"),
     ("浦东新区", "Pudong"), ("陆家嘴环路 1000 号 B1", "B1, 1000 Lujiazui Ring Road"),
     "31.239700", "121.499800", [["07:00", "23:00"]] * 7, "13711110002", "8000.00"),
    ("CASHJA03", "91310106MA1AG0003", ("静安寺小超市", "Jing'an Temple Mini Mart"),
     ("静安区", "Jing'an"), ("南京西路 1686 号", "1686 West Nanjing Road"),
     "31.223500", "121.445800", [["09:00", "21:00"]] * 6 + [None], "13711110003", "5000.00"),
]  # fmt: skip
ZHANG = "+8613800138000"
DEMO_PIN = "258013"


async def _point(session: Any, ctx: IdentityContext, row: tuple[Any, ...]) -> bool:
    """Create one cash point; False when it exists already."""
    code, body, names, district, address, lat, lon, hours, phone, float_cny = row
    number = body + uscc_number.calc_check_digit(body)
    if await session.scalar(select(Merchant).where(Merchant.uscc == number)) is not None:
        return False
    merchant = await onboarding.create(
        session,
        ctx,
        onboarding.Application(
            name_zh=names[0], name_en=names[1], category="5499", uscc=number,
            settlement_number="6222020000000004242", settlement_holder=names[0],
        ),
        status="active",
    )  # fmt: skip
    merchant.code = code
    owner = User(
        phone=normalize_phone(phone, "CN"),
        password_hash=await hash_password(DEMO_PASSWORD),
        real_name=f"{names[0][:2]}店主",
        role="merchant_staff",
        locale="zh_CN",
    )
    session.add(owner)
    await session.flush()
    owner.totp_secret = ctx.totp_sealer.seal(AGENT_TOTP_SECRET.encode(), aad=str(owner.id).encode())
    owner.totp_enabled_at = ctx.clock.now()
    session.add(MerchantStaff(user_id=owner.id, merchant_id=merchant.id, role="owner"))
    await session.flush()
    agent = await agents.register(
        session, ctx.settings, merchant, city=("上海", "Shanghai"), district=district,
        address=address, latitude=Decimal(lat), longitude=Decimal(lon), hours=hours,
        phone=f"021-6{code[-2:]}88{code[-2:]}88",
    )  # fmt: skip
    ledger = await Ledger.of_session(session)
    source = await system_account_id(ledger.conn, "equity", "CNY", "opening")
    await ledger.post(
        transfer(
            f"demo-float:{code}", debit_account_id=source,
            credit_account_id=agent.float_account_id,
            amount=Money.parse(float_cny, "CNY").minor, currency="CNY",
            entry_type="agent_float_topup",
        )
    )  # fmt: skip
    return True


def _cash_in(db: Database, ctx: IdentityContext, at: datetime) -> Callable[[], Awaitable[None]]:
    async def run() -> None:
        async with db.transaction() as session:
            with_clock(session, FrozenClock(at))
            merchant = await session.scalar(select(Merchant).where(Merchant.code == POINTS[0][0]))
            zhang = await by_phone(session, ZHANG)
            owner = await by_phone(session, normalize_phone(POINTS[0][8], "CN"))
            if merchant is None or zhang is None or owner is None:
                return
            op = await cash_operations.request(
                session, ctx, merchant, owner, kind="cash_in", customer=ZHANG,
                amount=Money.parse("300.00", "CNY"), id_checked=False, key="demo-cash-1",
            )  # fmt: skip
            await cash_operations.confirm(session, ctx, zhang, str(op.id), DEMO_PIN)

    return run


@demo_loader("cash-agents", order=35)
async def load(db: Database) -> list[DemoLogin]:
    from qianbao.settings import get_settings

    ctx = IdentityContext(settings=get_settings(), db=db, clock=db.clock)
    created = False
    async with db.transaction() as session:
        for row in POINTS:
            created = await _point(session, ctx, row) or created
    if created:
        now = db.clock.now()
        day = (now.astimezone(LOCAL_TZ) - timedelta(days=3)).date()
        at = datetime(day.year, day.month, day.day, 18, 5, tzinfo=LOCAL_TZ).astimezone(UTC)
        at_moment(min(at, now - timedelta(minutes=20)), _cash_in(db, ctx, at))
    return [
        DemoLogin(
            role="cash agent",
            login=POINTS[0][8],
            password=DEMO_PASSWORD,
            note=f"/merchant/agent · TOTP secret {AGENT_TOTP_SECRET}",
        )
    ]
