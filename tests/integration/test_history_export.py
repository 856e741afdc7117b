"""The history's CSV export is streamed in chunks (issue 17): read chunk by chunk in short
transactions, the file is the same as in one piece — every row once, in the history's order
(ties on the time broken by id), across chunk boundaries — and bad filters are refused before
anything is sent."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI

from qianbao.identity import accounts as id_accounts
from qianbao.kernel.clock import LOCAL_TZ
from qianbao.wallet import export
from qianbao.wallet.accounts import wallet_account
from qianbao.wallet.models import WalletTransaction
from tests.support.identity import bearer, e164, sign_up

EN = {"Accept-Language": "en"}


async def _user_with_rows(client: httpx.AsyncClient, app: FastAPI, n: int) -> tuple[str, list]:
    """A signed-up user with ``n`` history rows (written directly; rows 1 and 2 share their
    time); returns the token and the references, newest first."""
    phone, token = await sign_up(client, app)
    base = datetime(2026, 11, 3, 9, 30, tzinfo=LOCAL_TZ)
    async with app.state.db.transaction() as s:
        user = await id_accounts.by_phone(s, e164(phone))
        account = await wallet_account(s, user.id, "CNY")
        for i in range(n):
            at = base + timedelta(hours=i if i != 2 else 1)
            s.add(
                WalletTransaction(
                    user_id=user.id,
                    account_id=account.id,
                    kind="transfer",
                    direction="in" if i % 2 else "out",
                    currency="CNY",
                    amount=100 * (i + 1),
                    balance_after=1_000_00,
                    counterparty_name="Li M.",
                    counterparty_phone="+86 139****9000",
                    note="=1+1" if i == 0 else f"note {i}",
                    reference=f"20261103{i:010d}",
                    created_at=at,
                    listed_at=at,
                )
            )
    r = await client.get("/api/v1/wallet/transactions?limit=100", headers=bearer(token))
    return token, [t["reference"] for t in r.json()["transactions"]]


def _rows(body: bytes) -> list[list[str]]:
    assert body.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


@pytest.mark.parametrize("path", ["/api/v1/wallet/transactions.csv", "/wallet/history.csv"])
async def test_the_export_is_streamed_in_chunks_with_every_row_once_in_order(
    fresh_client: httpx.AsyncClient,
    fresh_app: FastAPI,
    monkeypatch: pytest.MonkeyPatch,
    path: str,
):
    client, app = fresh_client, fresh_app
    token, references = await _user_with_rows(client, app, 7)
    whole = await client.get(path, headers={**bearer(token), **EN})
    monkeypatch.setattr(export, "CHUNK_ROWS", 2)
    chunked = await client.get(path, headers={**bearer(token), **EN})
    assert chunked.status_code == 200 and chunked.headers["content-type"].startswith("text/csv")
    assert "qianbao-history.csv" in chunked.headers["content-disposition"]
    assert chunked.content == whole.content
    rows = _rows(chunked.content)
    assert rows[0][0] == "Time" and len(rows) == 8
    assert [row[9].strip() for row in rows[1:]] == references
    assert len(set(references)) == 7
    assert rows[-1][7] == "'=1+1"  # still no formulas
    # Filters hold in every chunk; an export that ends on a chunk boundary ends there.
    outs = await client.get(path, params={"direction": "out"}, headers={**bearer(token), **EN})
    assert [row[2] for row in _rows(outs.content)[1:]] == ["Money out"] * 4
    monkeypatch.setattr(export, "CHUNK_ROWS", 4)
    assert len(_rows((await client.get(path, headers={**bearer(token), **EN})).content)) == 8


async def test_bad_filters_are_refused_before_the_export_starts(
    fresh_client: httpx.AsyncClient, fresh_app: FastAPI
):
    client, app = fresh_client, fresh_app
    token, _ = await _user_with_rows(client, app, 1)
    r = await client.get(
        "/api/v1/wallet/transactions.csv", params={"min_amount": "x"}, headers=bearer(token)
    )
    assert r.status_code == 422 and r.json()["code"] == "validation_failed"
    r = await client.get(
        "/wallet/history.csv",
        params={"start": "2026-12-02", "end": "2026-12-01"},
        headers={**bearer(token), **EN},
    )
    assert r.status_code == 422


async def test_months_with_activity_probes_each_month_between_the_first_and_last_rows(session):
    """The statement's month list (one index probe per month since the user's first row): a
    month without rows in the currency is left out, another currency's rows do not count, the
    months are those of China time, and the current month is always there."""
    from qianbao.kernel.ids import uuid7
    from qianbao.wallet import statement

    user_id = uuid7()

    def row(at: datetime, currency: str = "CNY") -> WalletTransaction:
        return WalletTransaction(
            user_id=user_id,
            account_id=1,
            kind="topup",
            direction="in",
            currency=currency,
            amount=100,
            reference=uuid7().hex[:32],
            created_at=at,
            listed_at=at,
        )

    china = LOCAL_TZ
    session.add_all(
        [
            row(datetime(2025, 11, 30, 23, 30, tzinfo=china)),  # 15:30 UTC: still November
            row(datetime(2026, 1, 1, 0, 10, tzinfo=china)),  # December 31 in UTC
            row(datetime(2026, 2, 14, 12, 0, tzinfo=china), "USD"),
            row(datetime(2026, 4, 2, 9, 0, tzinfo=china)),
            row(datetime(2026, 4, 20, 9, 0, tzinfo=china)),
        ]
    )
    await session.flush()
    now = datetime(2026, 6, 5, 8, 0, tzinfo=china)
    months = await statement.months_with_activity(session, user_id, "CNY", now=now)
    assert [m.isoformat()[:7] for m in months] == ["2026-06", "2026-04", "2026-01", "2025-11"]
    usd = await statement.months_with_activity(session, user_id, "USD", now=now)
    assert [m.isoformat()[:7] for m in usd] == ["2026-06", "2026-02"]
    nobody = await statement.months_with_activity(session, uuid7(), "CNY", now=now)
    assert [m.isoformat()[:7] for m in nobody] == ["2026-06"]
