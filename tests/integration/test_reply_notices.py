"""Closing the loop (issue 20): an agent's answer tells the customer — in the app and by SMS as
they chose — signed with the agent's name and public agent id. In the chat only an answer still
unread after a minute, once per unread run; on a ticket every public answer. Through the real
worker, the real SMS outbox file and the real database."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from qianbao.identity import accounts as id_accounts
from qianbao.identity.context import IdentityContext
from qianbao.identity.models import User
from qianbao.kernel.clock import LOCAL_TZ, TestClock
from qianbao.kernel.db import Database
from qianbao.notifications import inbox
from qianbao.settings import Settings
from qianbao.support.chat import desk
from qianbao.support.chat import repository as chat_repo
from qianbao.support.chat import service as chat
from qianbao.support.tickets import service as tickets
from qianbao.support.tickets import staff
from qianbao.tasks import register_tasks
from qianbao.worker import Worker, registry
from qianbao.worker.models import Job
from tests.conftest import base_settings
from tests.support.identity import STRONG_PASSWORD, new_phone

AT = datetime(2026, 1, 15, 23, 9, tzinfo=LOCAL_TZ)  # a night hour, China time


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return base_settings(
        sms={"outbox_path": tmp_path / "sms.jsonl", "console_echo": False},
        chat={"opens_at": 0, "closes_at": 24},
    )


def sms_lines(settings: Settings) -> list[dict[str, Any]]:
    path = Path(settings.sms.outbox_path)
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


async def people(db: Database, settings: Settings) -> tuple[User, User]:
    async with db.transaction() as s:
        customer = User(phone="+86" + new_phone(), password_hash="x", real_name="韩梅梅")
        s.add(customer)
        agent = await id_accounts.create_staff(
            s, IdentityContext(settings=settings, db=db), phone_raw=new_phone(),
            password=STRONG_PASSWORD, role="support_agent", name="客服小周",
        )  # fmt: skip
        agent.totp_enabled_at = AT
        await s.flush()
    return customer, agent


async def run_worker(db: Database, settings: Settings) -> None:
    register_tasks()
    await Worker(db, registry, services={"settings": settings}).run_until_idle()


async def notices(db: Database, user: User, template: str) -> list[inbox.Notification]:
    async with db.session() as s:
        rows = await s.execute(
            select(inbox.Notification)
            .where(inbox.Notification.user_id == user.id, inbox.Notification.template == template)
            .order_by(inbox.Notification.created_at)
        )
        return list(rows.scalars())


async def test_an_unread_chat_answer_is_announced_once_per_run_signed(
    fresh_db: Database, settings: Settings, clock: TestClock
):
    clock.freeze(AT)
    customer, agent = await people(fresh_db, settings)
    cfg = chat.Config.of(settings, clock)
    who = chat.Customer(user_id=customer.id, visitor_hash=None, locale="zh_CN")
    async with fresh_db.transaction() as s:
        await desk.set_presence(s, cfg, agent, online=True)
        conv, _ = await chat.post_message(s, cfg, who, "我的提现怎么还没到")
        await desk.handoff(s, cfg, conv)
        assert conv.status == "assigned"
        first = await desk.reply(s, cfg, agent, conv.id, "您好，我来看一下。")
        await desk.reply(s, cfg, agent, conv.id, "请稍等。")  # same unread run: one notice
    async with fresh_db.session() as s:
        jobs = (
            await s.execute(select(Job).where(Job.task == "support.chat_reply_notice"))
        ).scalars()
        assert [j.payload["message"] for j in jobs] == [first.id]
    await run_worker(fresh_db, settings)
    [notice] = await notices(fresh_db, customer, "support.chat_replied")
    async with fresh_db.session() as s:
        [shown] = await inbox.inbox(s, customer.id, "zh_CN")
        agent_id = notice.params["agent_id"]
    assert notice.params["agent"] == "客服小周" and agent_id.startswith("QB-")
    assert "客服小周" in shown.text and agent_id in shown.text and shown.link == "/chat"
    [sms] = [m for m in sms_lines(settings) if m["to"] == customer.phone]
    assert "客服小周" in sms["text"] and agent_id in sms["text"]

    # The customer reads; the next answer is read before the minute is up: nobody is bothered.
    async with fresh_db.transaction() as s:
        latest = await chat_repo.messages_since(s, conv.id, 0)
        await chat.mark_read(s, cfg, conv, by="customer", upto=latest[-1].id)
        third = await desk.reply(s, cfg, agent, conv.id, "已经处理好了。")
        await chat.mark_read(s, cfg, conv, by="customer", upto=third.id)
    await run_worker(fresh_db, settings)
    assert len(await notices(fresh_db, customer, "support.chat_replied")) == 1
    # An answer left unread is announced again (a new run).
    async with fresh_db.transaction() as s:
        await desk.reply(s, cfg, agent, conv.id, "还有别的问题吗？")
    await run_worker(fresh_db, settings)
    assert len(await notices(fresh_db, customer, "support.chat_replied")) == 2


async def test_a_ticket_answer_is_announced_in_app_and_by_sms_unless_turned_off(
    fresh_db: Database, settings: Settings, clock: TestClock
):
    clock.freeze(AT)
    customer, agent = await people(fresh_db, settings)
    async with fresh_db.transaction() as s:
        ticket = await tickets.open_ticket(
            s, settings, new=tickets.NewTicket(category="other", subject="提现没到",
                                               body="三天了还没到账"),
            user_id=customer.id, requester_email=None, channel="web", uploads=[],
        )  # fmt: skip
        await staff.reply(s, settings, agent, ticket, "internal", internal=True)
        await staff.reply(s, settings, agent, ticket, "银行今天会到账。")
    await run_worker(fresh_db, settings)
    [notice] = await notices(fresh_db, customer, "support.ticket_replied")
    assert notice.params["reference"] == ticket.reference
    assert notice.link == f"/support/tickets/{ticket.reference}"
    [sms] = [m for m in sms_lines(settings) if m["to"] == customer.phone]
    assert ticket.reference in sms["text"] and notice.params["agent_id"] in sms["text"]
    # The thread is signed with the name and the agent id.
    async with fresh_db.session() as s:
        thread = await tickets.thread(s, ticket, internal=False)
    [answer] = [i for i in thread if i.message.author_kind == "agent"]
    assert answer.author.name == "客服小周"
    assert answer.author.agent_id == notice.params["agent_id"]

    # SMS for customer service's answers turned off: the inbox only.
    async with fresh_db.transaction() as s:
        await inbox.set_preferences(
            s, customer.id, sms_money=True, email_money=False, sms_support=False
        )
        again = await tickets.any_ticket(s, ticket.reference)
        await staff.reply(s, settings, agent, again, "还需要一张截图。")
    await run_worker(fresh_db, settings)
    assert len(await notices(fresh_db, customer, "support.ticket_replied")) == 2
    assert len([m for m in sms_lines(settings) if m["to"] == customer.phone]) == 1
