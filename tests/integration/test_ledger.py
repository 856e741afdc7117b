"""The ledger on a real PostgreSQL: entries, holds, reversals, idempotency, freezes, guards."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from qianbao.kernel.clock import FrozenClock
from qianbao.kernel.errors import IdempotencyKeyInvalid, IdempotencyKeyReused
from qianbao.ledger import (
    CreateHold,
    Ledger,
    Leg,
    PostEntry,
    PostHold,
    Reverse,
    VoidHold,
    accounts,
    transfer,
)
from qianbao.ledger import errors as le
from tests.integration.ledger_helpers import check_invariants, fund, key, open_wallet, snapshot


async def test_transfer_moves_money_and_records_running_balances(pg_conn: asyncpg.Connection):
    a = await open_wallet(pg_conn)
    b = await open_wallet(pg_conn)
    await fund(pg_conn, a, 10_000)
    ledger = Ledger(pg_conn)
    k = key()
    result = await ledger.post(
        transfer(
            k,
            debit_account_id=a,
            credit_account_id=b,
            amount=1_234,
            currency="CNY",
            metadata={"note": "午饭"},
        )
    )
    assert [(p.account_id, p.amount, p.balance_after) for p in result.postings] == [
        (a, -1_234, 8_766),
        (b, 1_234, 1_234),
    ]
    assert result.replayed is False
    acc_a = await accounts.get_account(pg_conn, a)
    assert (acc_a.posted, acc_a.available, acc_a.version) == (8_766, 8_766, 2)
    entry = await ledger.entry_by_key(k)
    assert entry["id"] == result.entry_id and entry["metadata"] == {"note": "午饭"}
    page = await accounts.statement(pg_conn, a)
    assert [(line.amount, line.balance_after, line.entry_type) for line in page.lines] == [
        (-1_234, 8_766, "transfer"),
        (10_000, 10_000, "funding"),
    ]
    await check_invariants(pg_conn)


async def test_refusals_change_nothing(pg_conn: asyncpg.Connection):
    a = await open_wallet(pg_conn)
    b = await open_wallet(pg_conn)
    usd = await open_wallet(pg_conn, currency="USD")
    await fund(pg_conn, a, 500)
    ledger = Ledger(pg_conn)
    before = await snapshot(pg_conn)
    cases = [
        (
            transfer(key(), debit_account_id=a, credit_account_id=b, amount=501, currency="CNY"),
            le.InsufficientFunds,
        ),
        (
            transfer(key(), debit_account_id=a, credit_account_id=usd, amount=1, currency="CNY"),
            le.CurrencyMismatch,
        ),
        (
            transfer(
                key(), debit_account_id=a, credit_account_id=999_999, amount=1, currency="CNY"
            ),
            le.AccountNotFound,
        ),
        (PostEntry(key(), (Leg(a, -5, "CNY"), Leg(b, 4, "CNY"))), le.InvalidEntry),
        (PostEntry(key(), (Leg(a, -5, "CNY"),)), le.InvalidEntry),
        (PostEntry("", (Leg(a, -5, "CNY"), Leg(b, 5, "CNY"))), IdempotencyKeyInvalid),
        (CreateHold(key(), a, b, 501, "CNY"), le.InsufficientFunds),
        (PostHold(key(), hold_id=__import__("uuid").uuid4()), le.HoldNotFound),
        (Reverse(key(), entry_id=__import__("uuid").uuid4()), le.EntryNotFound),
    ]
    outcomes = await ledger.execute([cmd for cmd, _ in cases])
    for outcome, (_, expected) in zip(outcomes, cases, strict=True):
        assert isinstance(outcome, expected), (outcome, expected)
    with pytest.raises(le.InvalidEntry):
        transfer(key(), debit_account_id=a, credit_account_id=b, amount=0, currency="CNY")
    with pytest.raises(le.InvalidEntry):
        transfer(key(), debit_account_id=a, credit_account_id=a, amount=1, currency="CNY")
    assert await snapshot(pg_conn) == before
    await check_invariants(pg_conn)


async def test_replays_return_the_first_result_and_other_requests_are_refused(
    pg_conn: asyncpg.Connection,
):
    a = await open_wallet(pg_conn)
    b = await open_wallet(pg_conn)
    await fund(pg_conn, a, 1_000)
    ledger = Ledger(pg_conn)
    k = key()
    cmd = transfer(k, debit_account_id=a, credit_account_id=b, amount=100, currency="CNY")
    first = await ledger.post(cmd)
    after_first = await snapshot(pg_conn)
    again = await ledger.post(cmd)
    assert again.replayed and again.entry_id == first.entry_id and again.postings == first.postings
    with pytest.raises(IdempotencyKeyReused):
        await ledger.post(
            transfer(k, debit_account_id=a, credit_account_id=b, amount=101, currency="CNY")
        )
    with pytest.raises(IdempotencyKeyReused):
        await ledger.hold(CreateHold(k, a, b, 100, "CNY"))
    # The same key twice in one batch: one entry, the second a replay.
    k2 = key()
    cmd2 = transfer(k2, debit_account_id=a, credit_account_id=b, amount=50, currency="CNY")
    r1, r2, r3 = await ledger.execute(
        [
            cmd2,
            cmd2,
            transfer(k2, debit_account_id=a, credit_account_id=b, amount=51, currency="CNY"),
        ]
    )
    assert r2.entry_id == r1.entry_id and r2.replayed
    assert isinstance(r3, IdempotencyKeyReused)
    assert (await snapshot(pg_conn))[a][0] == after_first[a][0] - 50
    await check_invariants(pg_conn)


async def test_fees_are_explicit_legs_into_the_fee_account(pg_conn: asyncpg.Connection):
    a = await open_wallet(pg_conn)
    b = await open_wallet(pg_conn)
    fee_account = await accounts.system_account_id(pg_conn, "fee_revenue", "CNY")
    fee_before = (await accounts.get_account(pg_conn, fee_account)).posted
    await fund(pg_conn, a, 10_000)
    result = await Ledger(pg_conn).post(
        transfer(
            key(),
            debit_account_id=a,
            credit_account_id=b,
            amount=1_000,
            currency="CNY",
            fee=10,
            fee_account_id=fee_account,
        )
    )
    assert [(p.account_id, p.amount) for p in result.postings] == [
        (a, -1_010),
        (b, 1_000),
        (fee_account, 10),
    ]
    assert (await accounts.get_account(pg_conn, fee_account)).posted == fee_before + 10
    await check_invariants(pg_conn)


async def test_holds_reduce_available_then_post_partly_void_or_expire(pg_conn: asyncpg.Connection):
    a = await open_wallet(pg_conn)
    b = await open_wallet(pg_conn)
    await fund(pg_conn, a, 10_000)
    clock = FrozenClock(datetime(2026, 11, 2, 10, 0, tzinfo=UTC))
    ledger = Ledger(pg_conn, clock=clock)

    held = await ledger.hold(CreateHold(key(), a, b, 6_000, "CNY", entry_type="withdrawal"))
    acc = await accounts.get_account(pg_conn, a)
    assert (acc.posted, acc.pending_out, acc.available) == (10_000, 6_000, 4_000)
    with pytest.raises(le.InsufficientFunds):
        await ledger.post(
            transfer(key(), debit_account_id=a, credit_account_id=b, amount=4_001, currency="CNY")
        )
    with pytest.raises(le.HoldAmountExceeded):
        await ledger.post(PostHold(key(), held.hold_id, amount=6_001))
    posted = await ledger.post(PostHold(key(), held.hold_id, amount=2_500))
    assert posted.entry_type == "withdrawal" and posted.hold_id == held.hold_id
    acc = await accounts.get_account(pg_conn, a)
    assert (acc.posted, acc.pending_out, acc.available) == (7_500, 0, 7_500)
    assert (await accounts.get_account(pg_conn, b)).pending_in == 0
    with pytest.raises(le.HoldNotPending):
        await ledger.post(PostHold(key(), held.hold_id))
    with pytest.raises(le.HoldNotPending):
        await ledger.hold(VoidHold(key(), held.hold_id))

    voided = await ledger.hold(CreateHold(key(), a, b, 1_000, "CNY"))
    assert (
        await ledger.hold(VoidHold(key(), voided.hold_id, reason="cancelled"))
    ).status == "voided"
    with pytest.raises(le.HoldNotPending):
        await ledger.post(PostHold(key(), voided.hold_id))

    expiring = await ledger.hold(
        CreateHold(key(), a, b, 2_000, "CNY", expires_at=clock.now() + timedelta(minutes=30))
    )
    assert (await accounts.get_account(pg_conn, a)).available == 5_500
    clock.advance(minutes=31)
    with pytest.raises(le.HoldExpired):
        await ledger.post(PostHold(key(), expiring.hold_id))
    assert await ledger.expire_due_holds() == 1
    assert (await ledger.hold_info(expiring.hold_id))["status"] == "expired"
    assert (await accounts.get_account(pg_conn, a)).available == 7_500
    with pytest.raises(le.HoldNotPending):
        await ledger.post(PostHold(key(), expiring.hold_id))
    assert await ledger.expire_due_holds() == 0
    await check_invariants(pg_conn)


async def test_reversal_is_a_new_linked_entry_and_happens_at_most_once(pg_conn: asyncpg.Connection):
    a = await open_wallet(pg_conn)
    b = await open_wallet(pg_conn)
    await fund(pg_conn, a, 1_000)
    ledger = Ledger(pg_conn)
    original = await ledger.post(
        transfer(key(), debit_account_id=a, credit_account_id=b, amount=300, currency="CNY")
    )
    reversal = await ledger.post(
        Reverse(key(), original.entry_id, metadata={"reason": "duplicate"})
    )
    assert reversal.reverses_entry_id == original.entry_id
    assert [(p.account_id, p.amount) for p in reversal.postings] == [(a, 300), (b, -300)]
    assert (await accounts.get_account(pg_conn, a)).posted == 1_000
    with pytest.raises(le.AlreadyReversed):
        await ledger.post(Reverse(key(), original.entry_id))
    # A reversal that would overdraw the receiver is refused like any other debit.
    second = await ledger.post(
        transfer(key(), debit_account_id=a, credit_account_id=b, amount=400, currency="CNY")
    )
    await ledger.post(
        transfer(key(), debit_account_id=b, credit_account_id=a, amount=400, currency="CNY")
    )
    with pytest.raises(le.InsufficientFunds):
        await ledger.post(Reverse(key(), second.entry_id))
    assert (await ledger.entry(original.entry_id))["reversed_by"] == reversal.entry_id
    await check_invariants(pg_conn)


async def test_frozen_accounts(pg_conn: asyncpg.Connection):
    a = await open_wallet(pg_conn)
    b = await open_wallet(pg_conn)
    await fund(pg_conn, a, 1_000)
    await fund(pg_conn, b, 1_000)
    ledger = Ledger(pg_conn)
    await accounts.set_status(pg_conn, a, "debit_frozen")
    with pytest.raises(le.AccountDebitFrozen):
        await ledger.post(
            transfer(key(), debit_account_id=a, credit_account_id=b, amount=1, currency="CNY")
        )
    with pytest.raises(le.AccountDebitFrozen):
        await ledger.hold(CreateHold(key(), a, b, 1, "CNY"))
    await ledger.post(
        transfer(key(), debit_account_id=b, credit_account_id=a, amount=1, currency="CNY")
    )
    await accounts.set_status(pg_conn, a, "frozen")
    with pytest.raises(le.AccountFrozen):
        await ledger.post(
            transfer(key(), debit_account_id=b, credit_account_id=a, amount=1, currency="CNY")
        )
    await accounts.set_status(pg_conn, a, "active")
    await ledger.post(
        transfer(key(), debit_account_id=a, credit_account_id=b, amount=1_001, currency="CNY")
    )
    await accounts.set_status(pg_conn, a, "closed")
    with pytest.raises(le.AccountClosed):
        await ledger.post(
            transfer(key(), debit_account_id=b, credit_account_id=a, amount=1, currency="CNY")
        )
    with pytest.raises(le.AccountNotEmpty):
        await accounts.set_status(pg_conn, b, "closed")
    await check_invariants(pg_conn)


async def test_opening_an_account_is_idempotent(pg_conn: asyncpg.Connection):
    owner = __import__("uuid").uuid4()
    k = key()
    first, created = await accounts.open_account(
        pg_conn, key=k, currency="USDT", kind="user_wallet", owner_id=owner
    )
    again, created_again = await accounts.open_account(
        pg_conn, key=k, currency="USDT", kind="user_wallet", owner_id=owner
    )
    assert created and not created_again and first.id == again.id
    assert first.no_negative and first.status == "active"
    with pytest.raises(IdempotencyKeyReused):
        await accounts.open_account(
            pg_conn, key=k, currency="CNY", kind="user_wallet", owner_id=owner
        )
    assert [acc.id for acc in await accounts.accounts_of_owner(pg_conn, owner)] == [first.id]


async def test_balances_at_a_past_instant(pg_conn: asyncpg.Connection):
    a = await open_wallet(pg_conn)
    b = await open_wallet(pg_conn)
    await fund(pg_conn, a, 1_000)
    ledger = Ledger(pg_conn)
    t1 = await pg_conn.fetchval("SELECT clock_timestamp()")
    await ledger.post(
        transfer(key(), debit_account_id=a, credit_account_id=b, amount=100, currency="CNY")
    )
    held = await ledger.hold(CreateHold(key(), a, b, 200, "CNY"))
    t2 = await pg_conn.fetchval("SELECT clock_timestamp()")
    await ledger.hold(VoidHold(key(), held.hold_id))
    past = await accounts.balances(pg_conn, a, at=t1)
    assert (past.posted, past.pending_out) == (1_000, 0)
    mid = await accounts.balances(pg_conn, a, at=t2)
    assert (mid.posted, mid.pending_out, mid.available) == (900, 200, 700)
    now = await accounts.balances(pg_conn, a)
    assert (now.posted, now.pending_out) == (900, 0)
    before_anything = await accounts.balances(pg_conn, a, at=t1 - timedelta(days=1))
    assert before_anything.posted == 0


async def test_statement_pages_with_a_cursor(pg_conn: asyncpg.Connection):
    a = await open_wallet(pg_conn)
    b = await open_wallet(pg_conn)
    await fund(pg_conn, a, 10_000)
    ledger = Ledger(pg_conn)
    for i in range(1, 8):
        await ledger.post(
            transfer(key(), debit_account_id=a, credit_account_id=b, amount=i, currency="CNY")
        )
    seen = []
    cursor = None
    while True:
        page = await accounts.statement(pg_conn, a, cursor=cursor, limit=3)
        seen.extend(line.amount for line in page.lines)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == [-7, -6, -5, -4, -3, -2, -1, 10_000]


async def test_the_database_refuses_edits_and_unbalanced_entries(pg_conn: asyncpg.Connection):
    a = await open_wallet(pg_conn)
    b = await open_wallet(pg_conn)
    await fund(pg_conn, a, 1_000)
    result = await Ledger(pg_conn).post(
        transfer(key(), debit_account_id=a, credit_account_id=b, amount=5, currency="CNY")
    )
    before = await snapshot(pg_conn)
    for sql in [
        "UPDATE ledger_postings SET amount = amount + 1",
        "DELETE FROM ledger_postings",
        "UPDATE ledger_entries SET entry_type = 'x'",
        "DELETE FROM ledger_entries",
        "TRUNCATE ledger_postings CASCADE",
        "DELETE FROM ledger_commands",
    ]:
        with pytest.raises(asyncpg.RestrictViolationError):
            await pg_conn.execute(sql)
    with pytest.raises(asyncpg.CheckViolationError, match="unbalanced"):
        async with pg_conn.transaction():
            await pg_conn.execute(
                "INSERT INTO ledger_entries (id, entry_type, effective_at) VALUES (gen_random_uuid(), 'bad', now())"
            )
    with pytest.raises(asyncpg.CheckViolationError):
        async with pg_conn.transaction():
            await pg_conn.execute(
                """WITH e AS (INSERT INTO ledger_entries (id, entry_type, effective_at)
                              VALUES ('00000000-0000-7000-8000-000000000001', 'bad', now()) RETURNING id)
                   INSERT INTO ledger_postings (entry_id, account_id, currency, amount, balance_after)
                   SELECT e.id, $1::bigint, 'CNY', 7, 0 FROM e UNION ALL SELECT e.id, $2::bigint, 'CNY', -6, 0 FROM e""",
                a,
                b,
            )
    # Checked per statement (migration 0024): a statement's postings balance each entry they
    # touch on their own, so one posting now and its counterpart in a later statement is
    # refused at the first.
    with pytest.raises(asyncpg.CheckViolationError, match="unbalanced"):
        await pg_conn.fetchval(
            """WITH e AS (INSERT INTO ledger_entries (id, entry_type, effective_at)
                          VALUES (gen_random_uuid(), 'bad', now()) RETURNING id)
               INSERT INTO ledger_postings (entry_id, account_id, currency, amount, balance_after)
               SELECT e.id, $1::bigint, 'CNY', 7, 0 FROM e RETURNING entry_id""",
            a,
        )
    with pytest.raises(asyncpg.RestrictViolationError, match="own transaction"):
        await pg_conn.execute(
            "INSERT INTO ledger_postings (entry_id, account_id, currency, amount, balance_after) VALUES ($1, $2, 'CNY', 1, 0)",
            result.entry_id,
            a,
        )
    with pytest.raises(asyncpg.CheckViolationError):
        await pg_conn.execute("UPDATE ledger_accounts SET posted = -1 WHERE id = $1", a)
    assert await snapshot(pg_conn) == before
    await check_invariants(pg_conn)


async def test_the_ledger_joins_the_requests_transaction(database, fresh_db_url):
    """Through a SQLAlchemy session: a rollback of the request undoes the ledger work too."""
    from qianbao.kernel.db import Database

    db = Database(fresh_db_url)
    try:
        async with db.transaction() as session:
            ledger = await Ledger.of_session(session)
            a = await open_wallet(ledger.conn)
            b = await open_wallet(ledger.conn)
            await fund(ledger.conn, a, 100)

        async def failing_request() -> None:
            async with db.transaction() as session:
                ledger = await Ledger.of_session(session)
                await ledger.post(
                    transfer(
                        key(), debit_account_id=a, credit_account_id=b, amount=60, currency="CNY"
                    )
                )
                raise RuntimeError("the request failed after the transfer")

        with pytest.raises(RuntimeError):
            await failing_request()
        async with db.session() as session:
            ledger = await Ledger.of_session(session)
            assert (await accounts.get_account(ledger.conn, a)).posted == 100
    finally:
        await db.dispose()


async def test_a_statement_between_two_moments_pages_through_exactly_their_postings(
    pg_conn: asyncpg.Connection,
):
    """The time bounds become posting-id bounds read from the index (issue 17): every posting
    of the period once, page by page, none from before or after; an empty period is empty."""
    a = await open_wallet(pg_conn)
    b = await open_wallet(pg_conn)
    await fund(pg_conn, a, 10_000)
    clock = FrozenClock(datetime(2026, 11, 1, 9, 0, tzinfo=UTC))
    ledger = Ledger(pg_conn, clock=clock)
    for day in range(1, 6):  # two transfers a day on 1-5 November
        clock.at = datetime(2026, 11, day, 9, 0, tzinfo=UTC)
        for amount in (day, 10 + day):
            await ledger.post(
                transfer(key(), debit_account_id=a, credit_account_id=b, amount=amount,
                         currency="CNY")
            )  # fmt: skip
    since, until = datetime(2026, 11, 2, tzinfo=UTC), datetime(2026, 11, 4, tzinfo=UTC)
    seen, cursor = [], None
    while True:
        page = await accounts.statement(
            pg_conn, a, since=since, until=until, cursor=cursor, limit=1
        )
        seen += [line.amount for line in page.lines]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == [-13, -3, -12, -2]
    empty = await accounts.statement(
        pg_conn, a, since=datetime(2030, 12, 1, tzinfo=UTC), until=datetime(2031, 1, 1, tzinfo=UTC)
    )
    assert empty.lines == [] and empty.next_cursor is None
    before = await accounts.statement(pg_conn, a, until=datetime(2026, 10, 1, tzinfo=UTC))
    assert before.lines == []
