"""Demo data of the support desk: the help center's shipped articles, and a few days of desk
work for the two demo customers and the demo agent — tickets in several states and categories
(one resolved and rated, one waiting for the customer, a high-priority security ticket nobody
has taken yet), and a live chat answered, closed and rated — so the agent console, the queues
and the reports have something to show. Booked through the services; idempotent."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import select

from qianbao.demo import DemoLogin, demo_loader
from qianbao.identity.accounts import by_phone
from qianbao.kernel.clock import LOCAL_TZ, clock_of
from qianbao.kernel.db import Database
from qianbao.support.chat import desk
from qianbao.support.chat import service as chat
from qianbao.support.console import ratings
from qianbao.support.helpcenter.seed import ensure_default_content
from qianbao.support.rota.models import AgentShift
from qianbao.support.tickets import service as tickets
from qianbao.support.tickets import staff
from qianbao.support.tickets.models import Ticket
from qianbao.support.tickets.sla import BusinessCalendar

ZHANG, LI, AGENT = "+8613800138000", "+8613900139000", "+8613700137000"


@dataclass(frozen=True)
class DemoTicket:
    phone: str
    category: str
    intake: dict[str, str]
    subject: str
    body: str
    hours_ago: float
    reply: str | None = None
    reply_after_min: int = 0
    status: str | None = None  # after the reply: None = waiting for the customer
    rating: tuple[int, str] | None = None
    assign: bool = True
    extra: dict[str, Any] = field(default_factory=dict)


TICKETS = (
    DemoTicket(
        ZHANG, "topup", {"amount": "500.00", "method": "card"},
        "充值 500 元还没到账",
        "今天上午用招商银行卡充值 500 元，银行已经扣款，钱包里还没看到。",
        hours_ago=72, reply="您好，这笔充值在银行清算中耽搁了，现已入账，请刷新钱包查看。",
        reply_after_min=35, status="resolved", rating=(5, "处理得很快，谢谢！"),
    ),
    DemoTicket(
        ZHANG, "withdrawal", {"amount": "1200.00", "destination": "card"},
        "提现什么时候到账？",
        "昨天晚上提现 1200 元到工商银行卡，现在还没到。",
        hours_ago=26, reply="您好，16:00 以后提交的提现从下一个工作日开始计算，周末顺延。"
        "请问您是几点提交的？我们帮您跟进。", reply_after_min=150,
    ),
    DemoTicket(
        LI, "security", {"incident": "unauthorized_payment"},
        "A payment I did not make",
        "There is a payment of 88.00 in my history that I do not recognise. "
        "I still have my phone. What should I do?",
        hours_ago=2, assign=False,
    ),
    DemoTicket(
        LI, "suggestion", {"area": "app"},
        "Please add a dark mode",
        "I use the wallet at night a lot; a dark theme would be easier on the eyes.",
        hours_ago=120, reply="Thank you! We passed it on to the product team.",
        reply_after_min=240, status="resolved", rating=(4, "Quick answer."),
    ),
)  # fmt: skip


async def _seeded(session: Any, user_id: Any) -> bool:
    found = await session.execute(
        select(Ticket.id).where(Ticket.user_id == user_id, Ticket.subject == TICKETS[0].subject)
    )
    return found.first() is not None


def _desk_time(settings: Any, now: datetime, t: DemoTicket) -> datetime:
    """When an answered demo ticket was opened: about ``hours_ago`` back, but on a business day
    in the morning, so its answer falls in the desk's business hours and the reports' business
    figures mean something whenever the demo is loaded (seeded at 23:09 every reply was at
    night: 0.0 business minutes, all "in time")."""
    if not t.reply:
        return now - timedelta(hours=t.hours_ago)
    cal = BusinessCalendar.from_settings(settings)
    day = (now - timedelta(hours=t.hours_ago)).astimezone(LOCAL_TZ).date()
    while True:
        opened = datetime.combine(day, time(10 + int(t.hours_ago) % 4), LOCAL_TZ)
        if cal.is_business_day(day) and opened + timedelta(minutes=t.reply_after_min) < now:
            return opened
        day -= timedelta(days=1)


async def _tickets(session: Any, settings: Any, agent: Any, now: datetime) -> None:
    for t in TICKETS:
        user = await by_phone(session, t.phone)
        assert user is not None
        opened = _desk_time(settings, now, t)
        ticket = await tickets.create_for_user(
            session,
            settings,
            user,
            tickets.NewTicket(category=t.category, subject=t.subject, body=t.body, intake=t.intake),
            now=opened,
        )
        if t.assign:
            await staff.assign(session, agent, ticket, str(agent.id))
        if t.reply:
            at = opened + timedelta(minutes=t.reply_after_min)
            await staff.reply(session, settings, agent, ticket, t.reply, now=at)
            if t.status:
                await staff.set_status(session, settings, agent, ticket, t.status, now=at)
        if t.rating:
            await ratings.rate_ticket(session, user, ticket.reference, *t.rating)


async def _chat(session: Any, settings: Any, agent: Any) -> None:
    """张三 asks the bot about the payment PIN, an agent takes over, answers and closes; 张三
    rates it."""
    user = await by_phone(session, ZHANG)
    assert user is not None
    cfg = chat.Config.of(settings, clock_of(session))
    who = chat.Customer(user_id=user.id, visitor_hash=None, locale="zh_CN")
    conv, _ = await chat.post_message(session, cfg, who, "支付密码忘了怎么办？")
    conv.status, conv.agent_id = "assigned", agent.id
    conv.queued_at = conv.assigned_at = cfg.now()
    await session.flush()
    await chat.post_message(
        session, cfg, who, "文章我看了，但是短信验证码一直收不到。", conversation_id=conv.id
    )
    await desk.reply(
        session, cfg, agent, conv.id,
        "您好，短信可能被手机拦截了，请检查拦截记录；也可以在安全中心改用身份验证器。",
    )  # fmt: skip
    await desk.close(session, cfg, agent, conv.id)
    await ratings.rate_chat(session, user, conv.id, 4, "解决了")


@demo_loader("support", order=50)
async def load(db: Database) -> list[DemoLogin]:
    from qianbao.settings import get_settings

    settings = get_settings()
    async with db.transaction() as session:
        await ensure_default_content(session)
    async with db.transaction() as session:
        agent = await by_phone(session, AGENT)
        zhang = await by_phone(session, ZHANG)
        if agent is None or zhang is None or await _seeded(session, zhang.id):
            return []
        await _tickets(session, settings, agent, clock_of(session).now())
        await _chat(session, settings, agent)
        # The rota: the demo agent's early shift before the desk opens (Monday to Friday
        # 06:00–08:00), so a night's chat is promised a reply by 06:30 (docs/support.md).
        for weekday in range(1, 6):
            session.add(
                AgentShift(agent_id=agent.id, weekday=weekday, starts_min=360, ends_min=480)
            )
    return []
