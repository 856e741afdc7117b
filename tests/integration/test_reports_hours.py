"""The reports' business-hours figures on tickets whose right answers are worked out by hand
(the ticket desk's calendar: 09:00–18:00 on business days; first response within 8 business
hours for normal priority, 4 for high).

A  normal, opened Mon 14 Dec 17:00, answered Tue 10:00: 60 + 60 = 120 min, due Tue 16:00: met.
B  normal, opened Fri 18 Dec 16:00, answered Mon 21 Dec 11:00: 120 + 120 = 240 min (the weekend
   does not count), due Mon 15:00: met.
C  high, opened Tue 15 Dec 09:00, answered 15:00: 360 min, due 13:00: MISSED. It then waits for
   the customer until Wed 15:00 (9 business hours), which moves the ticket's due times 9 hours
   on — the report used to read the moved first-response due (Wed 13:00) and count C in time
   (3/3, 100 %). Resolved Wed 17:00: 17 business hours less 9 waiting = 480 min; due Fri 15:00.
D  normal, opened Sat 19 Dec 23:09, answered 23:44: 0 business minutes (a night reply).

First response: 0, 120, 240, 360 -> median 180, p90 324 (linear between ranks); 3 of 4 in time.
Resolution (now Tue 22 Dec 10:00): C in time; A due Mon 21 Dec 12:00, unresolved: late -> 1/2.
"""

from __future__ import annotations

from datetime import date, datetime

from qianbao.identity.models import User
from qianbao.kernel.clock import LOCAL_TZ
from qianbao.support.console import reports
from qianbao.support.tickets import service as tickets
from qianbao.support.tickets import staff


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=LOCAL_TZ)


async def test_business_hours_figures_match_the_hand_count(session, settings, clock):
    clock.freeze(at(22, 10))
    people = {}
    for phone, role in (("+8613811110001", "user"), ("+8613711110002", "supervisor")):
        people[role] = User(phone=phone, password_hash="x", role=role, real_name=role)
        if role != "user":
            people[role].totp_enabled_at = clock.now()
        session.add(people[role])
    await session.flush()
    customer, boss = people["user"], people["supervisor"]

    async def ticket(opened: datetime, answered: datetime, priority: str = "normal"):
        t = await tickets.create_for_user(
            session, settings, customer,
            tickets.NewTicket(category="suggestion", subject="s", body="b", intake={"area": "app"}),
            now=opened,
        )  # fmt: skip
        if priority != "normal":
            await staff.set_priority(session, settings, boss, t, priority)
        await staff.reply(session, settings, boss, t, "answer", now=answered)
        return t

    await ticket(at(14, 17), at(15, 10))  # A
    await ticket(at(18, 16), at(21, 11))  # B
    c = await ticket(at(15, 9), at(15, 15), "high")  # C
    assert c.first_response_due == at(15, 13)
    await tickets.customer_reply(session, settings, customer.id, c, "thanks", now=at(16, 15))
    assert c.paused_hours == 9.0 and c.first_response_due == at(16, 13)  # moved on
    await staff.set_status(session, settings, boss, c, "resolved", now=at(16, 17))
    await ticket(at(19, 23, 9), at(19, 23, 44))  # D

    r = await reports.build(session, boss, date(2026, 12, 14), date(2026, 12, 21),
                            settings=settings, now=at(22, 10))  # fmt: skip
    b = r.business
    assert b is not None
    assert (b.first_response.count, b.first_response.median_minutes) == (4, 180.0)
    assert b.first_response.p90_minutes == 324.0
    assert (b.first_response_sla.due, b.first_response_sla.met) == (4, 3)
    assert b.first_response_sla.percent == 75.0
    assert (b.resolution.count, b.resolution.median_minutes) == (1, 480.0)
    assert (b.resolution_sla.due, b.resolution_sla.met) == (2, 1)
    # Wall-clock, for comparison: A 1020 (17 h), B 4020 (67 h), C 360, D 35 minutes.
    assert r.first_response.median_minutes == round((360 + 1020) / 2, 1)


async def test_the_demo_seeded_at_night_has_business_hours_figures(session, settings, clock):
    """Seeded at 23:09 the demo's answers used to fall at night (0.0 minutes, all in time):
    they are now on business-day mornings, 35, 150 and 240 minutes after opening."""
    from qianbao.identity.accounts import by_phone
    from qianbao.support import demo

    clock.freeze(at(19, 23, 9))
    for phone, role in ((demo.ZHANG, "user"), (demo.LI, "user"), (demo.AGENT, "supervisor")):
        user = User(phone=phone, password_hash="x", role=role, real_name=role)
        if role != "user":
            user.totp_enabled_at = clock.now()
        session.add(user)
    await session.flush()
    agent = await by_phone(session, demo.AGENT)
    await demo._tickets(session, settings, agent, clock.now())
    r = await reports.build(session, agent, date(2026, 12, 1), date(2026, 12, 19),
                            settings=settings, now=clock.now())  # fmt: skip
    b = r.business
    assert b is not None
    assert (b.first_response.count, b.first_response.median_minutes) == (3, 150.0)
    assert (b.resolution.count, b.resolution.median_minutes) == (2, 137.5)
