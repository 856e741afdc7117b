"""The calendar's edges, on both sides, with the service's clock pinned (never the machine's):

- a withdrawal asked for on a Friday evening before a public holiday arrives after the weekend
  and the holiday (and a weekend day worked instead of a holiday, 调休, counts as a working day);
- the daily limit's window turns at China's midnight, not at UTC's;
- the statement of a month asked for on its last day at 23:59 China time holds that day's
  transactions, and one minute after China's midnight (still the same day in UTC) the new month
  has begun.
"""

from __future__ import annotations

from datetime import datetime

import httpx
from fastapi import FastAPI

from qianbao.kernel.clock import LOCAL_TZ, TestClock
from qianbao.risk.limits import Limit
from qianbao.risk.repository import set_limit
from tests.support.identity import bearer
from tests.support.wallet import CARD_OK, PIN, bind_card, key, ready_user


def china(*args: int) -> datetime:
    return datetime(*args, tzinfo=LOCAL_TZ)  # type: ignore[misc]


async def _quote(client: httpx.AsyncClient, token: str, card: str) -> dict:
    r = await client.post(
        "/api/v1/wallet/withdrawals/quote",
        json={"card_id": card, "amount": "100.00", "currency": "CNY"},
        headers=bearer(token),
    )
    assert r.status_code == 200, r.text
    return r.json()


async def test_a_withdrawal_on_a_friday_evening_before_a_holiday_arrives_after_it(
    fresh_client: httpx.AsyncClient, fresh_app: FastAPI, clock: TestClock
):
    # Qingming 2026: Saturday 4 April to Monday 6 April are public holidays.
    clock.freeze(china(2026, 4, 3, 15, 0))  # Friday, before the 16:00 cut-off
    phone, token, _ = await ready_user(fresh_client, fresh_app, minor=100_000)
    card = await bind_card(fresh_client, fresh_app, phone, token, CARD_OK)
    # Processed on Friday; one business day later is Tuesday (the weekend and Monday's holiday
    # do not count).
    assert (await _quote(fresh_client, token, card))["expected_arrival"] == "2026-04-07"
    clock.freeze(china(2026, 4, 3, 20, 30))  # Friday evening, after the cut-off
    # Processed on the next business day (Tuesday), arrives one business day later.
    assert (await _quote(fresh_client, token, card))["expected_arrival"] == "2026-04-08"
    clock.freeze(china(2026, 4, 3, 23, 59))
    assert (await _quote(fresh_client, token, card))["expected_arrival"] == "2026-04-08"

    # Spring Festival 2026: Saturday 14 February is worked (调休), 15–23 February are holidays.
    clock.freeze(china(2026, 2, 13, 20, 0))  # Friday evening
    # Processed on the working Saturday, then nine days off: it arrives on Tuesday the 24th.
    assert (await _quote(fresh_client, token, card))["expected_arrival"] == "2026-02-24"
    clock.freeze(china(2026, 2, 13, 10, 0))  # Friday morning: processed Friday, Saturday works
    assert (await _quote(fresh_client, token, card))["expected_arrival"] == "2026-02-14"


async def test_the_daily_limit_turns_at_china_midnight_not_utc_midnight(
    fresh_client: httpx.AsyncClient, fresh_app: FastAPI, clock: TestClock
):
    clock.freeze(china(2026, 11, 10, 23, 40))  # = 15:40 UTC
    async with fresh_app.state.db.transaction() as s:
        await set_limit(
            s,
            Limit(0, "transfer", "CNY", single_max=5_000, daily_max=8_000, daily_count=10,
                  monthly_max=1_000_000, monthly_count=100),
        )  # fmt: skip
    _, alice, _ = await ready_user(fresh_client, fresh_app, minor=100_000)
    bob_phone, _, _ = await ready_user(fresh_client, fresh_app)

    async def send(amount: str) -> httpx.Response:
        return await fresh_client.post(
            "/api/v1/wallet/transfers",
            json={"to": bob_phone, "amount": amount, "currency": "CNY", "pin": PIN},
            headers={**bearer(alice), **key(), "Accept-Language": "en"},
        )

    async def remaining_today() -> str:
        r = await fresh_client.get("/api/v1/wallet/limits", headers=bearer(alice))
        (row,) = [x for x in r.json() if x["channel"] == "transfer"]
        return str(row["remaining_today"]["amount"])

    clock.freeze(china(2026, 11, 10, 23, 50))
    assert (await send("45.00")).status_code == 201
    assert await remaining_today() == "35.00"
    clock.freeze(china(2026, 11, 10, 23, 59, 59))  # still the 10th in China: the limit holds
    refused = await send("45.00")
    assert refused.status_code == 409 and refused.json()["code"] == "risk.limit_exceeded"
    # 00:00:01 on the 11th in China is 16:00:01 on the 10th in UTC: a new day for the user.
    clock.freeze(china(2026, 11, 11, 0, 0, 1))
    assert await remaining_today() == "80.00"
    assert (await send("45.00")).status_code == 201
    # UTC's midnight (08:00 in China) is no new day: what was sent since China's midnight counts.
    clock.freeze(china(2026, 11, 11, 8, 0, 1))
    assert await remaining_today() == "35.00"
    refused = await send("45.00")
    assert refused.status_code == 409 and refused.json()["code"] == "risk.limit_exceeded"


async def test_the_statement_asked_for_on_the_last_day_at_23_59_china_time(
    fresh_client: httpx.AsyncClient, fresh_app: FastAPI, clock: TestClock
):
    clock.freeze(china(2026, 10, 31, 20, 0))  # Saturday, the month's last day
    _, alice, _ = await ready_user(fresh_client, fresh_app, minor=10_000)
    bob_phone, _, _ = await ready_user(fresh_client, fresh_app)

    async def send(amount: str) -> dict:
        r = await fresh_client.post(
            "/api/v1/wallet/transfers",
            json={"to": bob_phone, "amount": amount, "currency": "CNY", "pin": PIN},
            headers={**bearer(alice), **key()},
        )
        assert r.status_code == 201, r.text
        return r.json()

    async def statement(month: str) -> httpx.Response:
        return await fresh_client.get(f"/api/v1/wallet/statements/{month}", headers=bearer(alice))

    clock.freeze(china(2026, 10, 31, 23, 58, 30))
    late = await send("12.34")
    clock.freeze(china(2026, 10, 31, 23, 59))  # = 15:59 UTC
    october = await statement("2026-10")
    assert october.status_code == 200, october.text
    body = october.json()
    assert body["complete"] is False  # the month is still running
    assert [line["reference"] for line in body["lines"]][-1] == late["reference"]
    assert body["closing_balance"]["amount"] == "87.66"
    # November has not begun in China (nor in UTC): no statement of the future.
    november = await statement("2026-11")
    assert november.status_code == 422
    assert november.json()["code"] == "wallet.statement_month_invalid"
    months = (await fresh_client.get("/api/v1/wallet/statements", headers=bearer(alice))).json()[
        "months"
    ]
    assert months[0] == "2026-10"

    # One minute past China's midnight: 16:01 UTC, still 31 October in UTC, but November here.
    clock.freeze(china(2026, 11, 1, 0, 1))
    early = await send("1.00")
    november = await statement("2026-11")
    assert november.status_code == 200, november.text
    assert [line["reference"] for line in november.json()["lines"]] == [early["reference"]]
    assert november.json()["opening_balance"]["amount"] == "87.66"
    october = (await statement("2026-10")).json()
    assert october["complete"] is True
    assert october["closing_balance"]["amount"] == "87.66"
    assert early["reference"] not in {line["reference"] for line in october["lines"]}
    # A reference carries the date the user sees (China time), not UTC's.
    assert early["reference"].startswith("20261101") and late["reference"].startswith("20261031")
