"""Spending insights and budgets (B13): exact sums by category and month (refunds net, pending
and failed rows left out, other users' rows never counted, months on China's calendar with the
clock pinned), budgets set / changed / removed with stable ``budget.*`` refusals, alerts at 80 %
and 100 % once each — also when checks race — and the demo's budgets with their one alert."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, text

from qianbao.identity.accounts import by_phone
from qianbao.kernel.clock import LOCAL_TZ
from qianbao.kernel.db import Database
from qianbao.notifications.inbox import Notification
from qianbao.wallet import budget_tasks, budgets, insights
from qianbao.wallet.models import WalletTransaction
from qianbao.wallet.models_budgets import Budget, BudgetAlert
from qianbao.worker import JobContext
from tests.support.identity import bearer, deliver, e164, sms_messages
from tests.support.merchants import make_merchant
from tests.support.wallet import PIN, key, ready_user

# Mid-December 2026 in China; the tests that cross a month's end pin their own moment.
NOW = datetime(2026, 12, 15, 10, 0, tzinfo=LOCAL_TZ)
DEC, NOV = date(2026, 12, 1), date(2026, 11, 1)


@pytest.fixture
def app(fresh_app: FastAPI) -> FastAPI:
    return fresh_app  # signing up commits in more than one transaction


@pytest.fixture
def client(fresh_client: httpx.AsyncClient) -> httpx.AsyncClient:
    return fresh_client


def _cst(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=LOCAL_TZ)


async def _row(
    db: Any,
    user_id: uuid.UUID,
    kind: str,
    direction: str,
    amount: int,
    *,
    at: datetime = NOW,
    status: str = "completed",
    fee: int = 0,
    currency: str = "CNY",
    details: dict[str, Any] | None = None,
) -> None:
    """A wallet row as the services write it (the insights read nothing else)."""
    async with db.transaction() as s:
        s.add(
            WalletTransaction(
                user_id=user_id, account_id=1, kind=kind, direction=direction, status=status,
                currency=currency, amount=amount, fee=fee, reference=uuid.uuid4().hex[:20],
                details=details or {}, created_at=at, listed_at=at,
            )
        )  # fmt: skip


def _shop(code: str) -> dict[str, str]:
    return {"category": code, "merchant_name_en": "Shop"}


async def test_spending_by_category_and_month_is_exact_and_only_the_users_own(
    app: FastAPI, client: httpx.AsyncClient, clock
):
    clock.freeze(NOW)  # first: a session made at another time could be stale at the frozen one
    _, token, me = await ready_user(client, app)
    other = uuid.uuid4()
    db = app.state.db
    rows: list[tuple[str, str, int, dict[str, Any]]] = [
        ("payment", "out", 28_01, {"details": _shop("5814")}),  # food
        ("payment", "out", 33_33, {"details": _shop("5411")}),  # food
        ("payment", "out", 199_99, {"details": _shop("5651")}),  # shopping
        ("refund", "in", 10_00, {"details": _shop("5814")}),  # food, less
        ("transfer", "out", 100_00, {}),
        ("refund", "in", 30_00, {"details": {"case": "C-1"}}),  # a claim on a transfer
        ("transfer", "in", 500_00, {}),  # received: not spending
        ("topup", "in", 1000_00, {"fee": 5_00}),  # not spending, nor its fee
        ("withdrawal", "out", 300_00, {"fee": 2_00}),  # its fee only
        ("exchange", "out", 695_00, {"fee": 5_00}),  # its spread only
        ("payment", "out", 77_00, {"status": "pending", "details": _shop("5814")}),
        ("payment", "out", 66_00, {"status": "failed", "details": _shop("5814")}),
        ("transfer", "out", 55_00, {"status": "reversed"}),
        ("payment", "out", 44_00, {"currency": "USD", "details": _shop("5814")}),
        ("payment", "out", 12_34, {"at": _cst(2026, 11, 20, 9), "details": _shop("5812")}),
        ("transfer", "out", 1_00, {"at": _cst(2026, 6, 30, 23, 59, 59)}),  # June: not in 6 months
    ]
    for kind, direction, amount, extra in rows:
        await _row(db, me, kind, direction, amount, **extra)
    await _row(db, other, "payment", "out", 999_00, details=_shop("5814"))  # someone else's

    r = await client.get("/api/v1/wallet/insights?month=2026-12", headers=bearer(token))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["month"] == "2026-12" and body["currency"] == "CNY"
    got = {c["category"]: (c["amount"]["amount"], c["share_percent"]) for c in body["categories"]}
    # 28.01 + 33.33 - 10.00 = 51.34 food; 100 - 30 transfers; 2 + 5 fees; all = 328.33
    assert got == {
        "shopping": ("199.99", "60.9"),
        "transfers": ("70.00", "21.3"),
        "food": ("51.34", "15.6"),
        "fees": ("7.00", "2.1"),
    }
    assert body["total"] == {"amount": "328.33", "currency": "CNY"}
    assert body["previous_total"]["amount"] == "12.34"
    assert body["change"]["amount"] == "315.99"
    assert body["change_percent"] == "2560.7"
    assert [(m["month"], m["total"]["amount"]) for m in body["months"]] == [
        ("2026-07", "0.00"), ("2026-08", "0.00"), ("2026-09", "0.00"), ("2026-10", "0.00"),
        ("2026-11", "12.34"), ("2026-12", "328.33"),
    ]  # fmt: skip
    r = await client.get("/api/v1/wallet/insights?months=12&month=2026-12", headers=bearer(token))
    months = r.json()["months"]
    assert len(months) == 12 and months[0]["month"] == "2026-01"
    assert months[5] == {"month": "2026-06", "total": {"amount": "1.00", "currency": "CNY"}}
    assert months[6] == {"month": "2026-07", "total": {"amount": "0.00", "currency": "CNY"}}
    usd = (await client.get("/api/v1/wallet/insights?currency=USD", headers=bearer(token))).json()
    assert usd["total"]["amount"] == "44.00" and usd["categories"][0]["category"] == "food"
    async with db.transaction() as s:
        assert await insights.month_spending(s, other, "CNY", DEC) == {"food": 999_00}
    # A category opens its own rows in the bills (the insights page links there).
    for category, expected in (
        ("food", {("payment", "28.01"), ("payment", "33.33"), ("refund", "10.00"),
                  ("payment", "77.00"), ("payment", "66.00")}),
        ("transfers", {("transfer", "100.00"), ("refund", "30.00"), ("transfer", "55.00")}),
        ("fees", {("withdrawal", "300.00"), ("exchange", "695.00")}),
    ):  # fmt: skip
        r = await client.get(
            "/api/v1/wallet/transactions",
            params={"category": category, "currency": "CNY", "period": "custom", "start": "2026-12-01",
                    "end": "2026-12-31"},
            headers=bearer(token),
        )  # fmt: skip
        assert r.status_code == 200, r.text
        got = {(t["kind"], t["amount"]["amount"]) for t in r.json()["transactions"]}
        assert got == expected, (category, got)
    r = await client.get(
        "/api/v1/wallet/transactions", params={"category": "nonsense"}, headers=bearer(token)
    )
    assert r.status_code == 422


async def test_a_months_end_is_midnight_in_china_not_utc(app: FastAPI, client, clock):
    # 2026-12-01 00:30 in China is still 30 November in UTC.
    clock.freeze(_cst(2026, 12, 1, 0, 30))
    _, token, me = await ready_user(client, app)
    db = app.state.db
    await _row(db, me, "transfer", "out", 1_00, at=_cst(2026, 11, 30, 23, 59, 59))
    await _row(db, me, "transfer", "out", 2_00, at=_cst(2026, 12, 1, 0, 0, 0))
    await _row(db, me, "transfer", "out", 4_00, at=datetime(2026, 11, 30, 16, 15, tzinfo=UTC))

    async def total(month: str) -> str:
        r = await client.get(f"/api/v1/wallet/insights?month={month}", headers=bearer(token))
        assert r.status_code == 200, r.text
        return str(r.json()["total"]["amount"])

    assert await total("2026-12") == "6.00"
    assert await total("2026-11") == "1.00"
    assert (await client.get("/api/v1/wallet/insights", headers=bearer(token))).json()[
        "month"
    ] == "2026-12"
    r = await client.get("/api/v1/wallet/insights?month=2027-01", headers=bearer(token))
    assert r.status_code == 422 and r.json()["code"] == "budget.month_in_future"
    # A minute before midnight, December has not begun.
    clock.freeze(_cst(2026, 11, 30, 23, 59))
    r = await client.get("/api/v1/wallet/insights?month=2026-12", headers=bearer(token))
    assert r.status_code == 422 and r.json()["code"] == "budget.month_in_future"


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("month=2026-13", "budget.month_invalid"),
        ("month=2026-1", "budget.month_invalid"),
        ("month=%EF%BC%92%EF%BC%90%EF%BC%92%EF%BC%96-12", "budget.month_invalid"),  # full-width
        ("month=2026-12-01", "budget.month_invalid"),
        ("currency=XYZ", "budget.unknown_currency"),
    ],
)
async def test_bad_insights_queries_are_refused_with_stable_codes(
    app: FastAPI, client: httpx.AsyncClient, clock, query: str, code: str
):
    clock.freeze(NOW)
    _, token, _ = await ready_user(client, app)
    r = await client.get(f"/api/v1/wallet/insights?{query}", headers=bearer(token))
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == code


async def test_budgets_are_set_changed_and_removed_and_bad_amounts_change_nothing(
    app: FastAPI, client: httpx.AsyncClient, clock
):
    clock.freeze(NOW)
    _, token, me = await ready_user(client, app)
    _, other_token, _ = await ready_user(client, app)
    h = {**bearer(token), "Accept-Language": "en"}
    await _row(app.state.db, me, "payment", "out", 120_00, details=_shop("5812"))
    r = await client.put("/api/v1/wallet/budgets/food", json={"amount": "500", "currency": "CNY"},
                         headers=h)  # fmt: skip
    assert r.status_code == 200, r.text
    assert r.json() == {
        "category": "food", "name": "Food and drink", "month": "2026-12",
        "amount": {"amount": "500.00", "currency": "CNY"},
        "spent": {"amount": "120.00", "currency": "CNY"},
        "left": {"amount": "380.00", "currency": "CNY"},
        "percent": 24, "state": "ok", "alerts": [],
    }  # fmt: skip
    r = await client.put("/api/v1/wallet/budgets/food", json={"amount": "150.00", "currency": "CNY"},
                         headers={**h, "Accept-Language": "zh-CN"})  # fmt: skip
    assert (r.json()["name"], r.json()["percent"], r.json()["state"]) == ("餐饮", 80, "warn")
    r = await client.put("/api/v1/wallet/budgets/total", json={"amount": "100", "currency": "CNY"},
                         headers=h)  # fmt: skip
    assert (r.json()["percent"], r.json()["state"], r.json()["left"]["amount"]) == (
        120, "over", "-20.00"
    )  # fmt: skip
    await client.put("/api/v1/wallet/budgets/fees", json={"amount": "1000", "currency": "JPY"},
                     headers=h)  # fmt: skip

    before = (await client.get("/api/v1/wallet/budgets", headers=h)).json()
    assert [(b["category"], b["amount"]["amount"]) for b in before] == [
        ("total", "100.00"), ("food", "150.00")
    ]  # fmt: skip
    refusals = [
        ("cars", {"amount": "10", "currency": "CNY"}, "budget.unknown_category"),
        ("food", {"amount": "12.345", "currency": "CNY"}, "budget.amount_decimals"),
        ("food", {"amount": "1.5", "currency": "JPY"}, "budget.amount_decimals"),
        ("food", {"amount": "0", "currency": "CNY"}, "budget.amount_not_positive"),
        ("food", {"amount": "0.00", "currency": "CNY"}, "budget.amount_not_positive"),
        ("food", {"amount": "-5", "currency": "CNY"}, "budget.amount_not_positive"),
        ("food", {"amount": "１００", "currency": "CNY"}, "budget.amount_invalid"),
        ("food", {"amount": "1e3", "currency": "CNY"}, "budget.amount_invalid"),
        ("food", {"amount": "", "currency": "CNY"}, "budget.amount_invalid"),
        ("food", {"amount": "10000000000000", "currency": "CNY"}, "budget.amount_too_large"),
        ("food", {"amount": "10", "currency": "XYZ"}, "budget.unknown_currency"),
    ]
    for category, body, code in refusals:
        r = await client.put(f"/api/v1/wallet/budgets/{category}", json=body, headers=h)
        assert r.status_code == 422, (body, r.text)
        assert r.json()["code"] == code, (body, r.json())
    r = await client.put(
        "/api/v1/wallet/budgets/food",
        json={"amount": "1.001", "currency": "CNY"},
        headers={**h, "Accept-Language": "en"},
    )
    assert r.json()["title"] == "This amount has more decimal places than CNY allows (2)."
    assert (await client.get("/api/v1/wallet/budgets", headers=h)).json() == before

    # Someone else sees none of them and cannot remove them.
    assert (await client.get("/api/v1/wallet/budgets", headers=bearer(other_token))).json() == []
    r = await client.delete("/api/v1/wallet/budgets/food", headers=bearer(other_token))
    assert r.status_code == 404 and r.json()["code"] == "budget.not_found"
    r = await client.delete("/api/v1/wallet/budgets/food?currency=CNY", headers=h)
    assert r.status_code == 204
    r = await client.delete("/api/v1/wallet/budgets/food", headers=h)
    assert r.status_code == 404 and r.json()["code"] == "budget.not_found"
    jpy = (await client.get("/api/v1/wallet/budgets?currency=JPY", headers=h)).json()
    assert [(b["category"], b["amount"]["amount"]) for b in jpy] == [("fees", "1000")]
    insights_now = (await client.get("/api/v1/wallet/insights", headers=h)).json()
    assert [(b["category"], b["percent"]) for b in insights_now["budgets"]] == [("total", 120)]
    past = (await client.get("/api/v1/wallet/insights?month=2026-11", headers=h)).json()
    assert past["budgets"] == []  # budgets are shown against this month only


async def _pay(client: httpx.AsyncClient, shop: Any, token: str, amount: str) -> dict[str, Any]:
    r = await client.post(
        "/api/v1/merchant/checkout-sessions",
        json={"amount": amount, "currency": "CNY", "order_reference": uuid.uuid4().hex[:12]},
        headers={**shop.headers, **key()},
    )
    assert r.status_code == 201, r.text
    r = await client.post(
        f"/api/v1/pay/checkout-sessions/{r.json()['id']}/pay", json={"pin": PIN},
        headers=bearer(token),
    )  # fmt: skip
    assert r.status_code == 200, r.text
    return dict(r.json()["payment"])


async def _alerts(app: FastAPI, user_id: uuid.UUID) -> list[tuple[str, int]]:
    async with app.state.db.transaction() as s:
        rows = await s.execute(
            select(BudgetAlert.category, BudgetAlert.level)
            .where(BudgetAlert.user_id == user_id)
            .order_by(BudgetAlert.created_at, BudgetAlert.level)
        )
        return [(c, lvl) for c, lvl in rows.all()]


async def _notices(client: httpx.AsyncClient, token: str) -> list[str]:
    r = await client.get(
        "/api/v1/me/notifications", headers={**bearer(token), "Accept-Language": "en"}
    )
    return [n["text"] for n in r.json()["notifications"] if "budget" in n["text"]]


async def test_alerts_at_80_and_100_percent_come_once_each_after_real_spending(
    fresh_app: FastAPI, fresh_client: httpx.AsyncClient
):
    app, client = fresh_app, fresh_client
    shop = await make_merchant(app, fee_plan={})
    async with app.state.db.transaction() as s:  # a restaurant
        await s.execute(text("UPDATE merchants SET category = '5812' WHERE id = :id"),
                        {"id": shop.id})  # fmt: skip
    phone, token, me = await ready_user(client, app, minor=1000_00)
    friend, _, _ = await ready_user(client, app)
    h = bearer(token)
    for category, amount in (("food", "100.00"), ("transfers", "50.00"), ("total", "1000")):
        r = await client.put(f"/api/v1/wallet/budgets/{category}",
                             json={"amount": amount, "currency": "CNY"}, headers=h)  # fmt: skip
        assert r.status_code == 200, r.text
    await _pay(client, shop, token, "70.00")
    await deliver(app)
    assert await _alerts(app, me) == []
    # Money back lowers the spending: 70 - 20 + 35 = 85 %.
    paid = await _pay(client, shop, token, "35.00")
    r = await client.post(
        f"/api/v1/merchant/payments/{paid['id']}/refunds",
        json={"amount": "20.00", "reason": "少上一道菜"}, headers={**shop.headers, **key()},
    )  # fmt: skip
    assert r.status_code == 201, r.text
    await deliver(app)
    assert await _alerts(app, me) == [("food", 80)]
    assert await _notices(client, token) == [
        "Qianbao budget alert — Food and drink: you have spent 85.00 CNY of your 100.00 CNY "
        "budget this month (85%)."
    ]
    assert any("85.00" in m and "预算" in m for m in sms_messages(app, e164(phone)))
    await _pay(client, shop, token, "5.00")  # 90 %: nothing new
    await deliver(app)
    assert await _alerts(app, me) == [("food", 80)]
    await _pay(client, shop, token, "20.00")  # 110 %
    await deliver(app)
    assert await _alerts(app, me) == [("food", 80), ("food", 100)]
    assert (await _notices(client, token))[0] == (
        "Qianbao budget alert — Food and drink: you have spent 110.00 CNY of your 100.00 CNY "
        "budget this month (110%). Your budget is used up."
    )
    # A transfer past both levels at once: both recorded, one message (the highest).
    r = await client.post(
        "/api/v1/wallet/transfers",
        json={"to": friend, "amount": "60.00", "currency": "CNY", "pin": PIN},
        headers={**h, **key()},
    )
    assert r.status_code == 201, r.text
    await deliver(app)
    assert await _alerts(app, me) == [("food", 80), ("food", 100), ("transfers", 80),
                                      ("transfers", 100)]  # fmt: skip
    notices = await _notices(client, token)
    assert len(notices) == 3 and "Transfers to people" in notices[0]
    # The jobs again (a retry, a sweep): nothing more.
    async with app.state.db.transaction() as s:
        await budgets.check(s, app.state.settings, me, "CNY")
        ctx = JobContext(session=s, job_id=0, attempt=1, services={"settings": app.state.settings})
        await budget_tasks.sweep(ctx)
    await deliver(app)
    assert len(await _alerts(app, me)) == 4 and len(await _notices(client, token)) == 3
    page = await client.get("/api/v1/wallet/insights", headers=h)
    food = next(b for b in page.json()["budgets"] if b["category"] == "food")
    assert (food["spent"]["amount"], food["percent"], food["alerts"]) == ("110.00", 110, [80, 100])


async def test_racing_checks_crossing_80_percent_send_one_alert(fresh_db: Database, settings):
    user = uuid.uuid4()
    async with fresh_db.transaction() as s:
        await budgets.set_budget(s, user, category="food", currency="CNY", amount="100")
    # Two payments committed at once, each alone under 80 %, together over it.
    await asyncio.gather(
        _row(fresh_db, user, "payment", "out", 45_00, details=_shop("5814"),
             at=fresh_db.clock.now()),
        _row(fresh_db, user, "payment", "out", 40_00, details=_shop("5411"),
             at=fresh_db.clock.now()),
    )  # fmt: skip

    async def check() -> list[budgets.Alerted]:
        async with fresh_db.transaction() as s:
            return await budgets.check(s, settings, user, "CNY")

    results = await asyncio.gather(*(check() for _ in range(6)))
    assert sorted(len(r) for r in results) == [0, 0, 0, 0, 0, 1]
    async with fresh_db.transaction() as s:
        alerts = (await s.execute(select(BudgetAlert.level, BudgetAlert.spent))).all()
        assert [(lvl, spent) for lvl, spent in alerts] == [(80, 85_00)]
        count = select(func.count()).select_from(Notification).where(Notification.user_id == user)
        assert (await s.execute(count)).scalar_one() == 1


async def test_an_exchange_fee_is_caught_by_the_sweep(fresh_app: FastAPI, fresh_client):
    _, token, me = await ready_user(fresh_client, fresh_app)
    r = await fresh_client.put("/api/v1/wallet/budgets/fees",
                               json={"amount": "10", "currency": "CNY"}, headers=bearer(token))  # fmt: skip
    assert r.status_code == 200
    now = fresh_app.state.db.clock.now()
    await _row(fresh_app.state.db, me, "exchange", "out", 990_00, fee=9_00, at=now)
    await deliver(fresh_app)  # no event for an exchange
    assert await _alerts(fresh_app, me) == []
    async with fresh_app.state.db.transaction() as s:
        ctx = JobContext(session=s, job_id=0, attempt=1,
                         services={"settings": fresh_app.state.settings})  # fmt: skip
        await budget_tasks.sweep(ctx)
    assert await _alerts(fresh_app, me) == [("fees", 80)]


@pytest.fixture
def demo_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from qianbao.settings import get_settings

    monkeypatch.setenv("QIANBAO_ENVIRONMENT", "test")
    monkeypatch.setenv("QIANBAO_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("QIANBAO_SECURITY__SECRET_KEY", "demo-test-secret-key-0123456789abcdef")
    monkeypatch.setenv("QIANBAO_SMS__OUTBOX_PATH", str(tmp_path / "sms.jsonl"))
    monkeypatch.setenv("QIANBAO_PAYMENTS__PAYOUT_OUTBOX_PATH", str(tmp_path / "payouts.jsonl"))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


async def test_the_demo_gives_zhang_san_budgets_with_one_alert_once(demo_env, fresh_db: Database):
    from qianbao.demo import load_demo_data

    await load_demo_data(fresh_db)
    await load_demo_data(fresh_db)  # idempotent
    async with fresh_db.transaction() as s:
        zhang = await by_phone(s, "+8613800138000")
        assert zhang is not None
        month = insights.this_month(s)
        states = {b.category: b for b in await budgets.states(s, zhang.id, "CNY", month)}
        assert set(states) == {"food", "shopping", "transfers"}
        assert states["transfers"].state == "warn"
        assert [b.state for c, b in states.items() if c != "transfers"] == ["ok", "ok"]
        alerts = (await s.execute(select(BudgetAlert.category, BudgetAlert.level))).all()
        assert [(c, lvl) for c, lvl in alerts] == [("transfers", 80)]
        notes = (
            await s.execute(
                select(Notification.template).where(
                    Notification.user_id == zhang.id,
                    Notification.template.like("wallet.budget%"),
                )
            )
        ).all()
        assert [n for (n,) in notes] == ["wallet.budget_warning"]
        assert (await s.execute(select(func.count()).select_from(Budget))).scalar_one() == 3
