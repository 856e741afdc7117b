"""Issue 15: no sequence of transfers, spending, claims, holds, recommendations, approvals,
rejections and appeals creates or destroys money. A Hypothesis state machine drives the real
services (wallet transfers, disputes claims and review) on a real PostgreSQL; after every step:

- the ledger's own invariants (every entry balanced, balances sum to zero, pending amounts match
  the holds, no wallet below zero);
- each customer's history rows add up to their ledger balance (minus the money they were given
  at the start): every movement a case makes is in the histories;
- each case holds no more than it claims, refunds no more than was recommended, keeps its hold
  exactly while it is open, and the operator's loss account has paid exactly what the cases wrote
  off.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule
from sqlalchemy import case as sql_case
from sqlalchemy import func, select

from qianbao.disputes import claims, review
from qianbao.disputes.models import Case
from qianbao.identity.context import IdentityContext
from qianbao.identity.models import User
from qianbao.identity.pin import set_pin
from qianbao.kernel.clock import FrozenClock
from qianbao.kernel.db import Database
from qianbao.kernel.errors import DomainError
from qianbao.kernel.money import Money
from qianbao.ledger import Ledger, transfer
from qianbao.ledger.accounts import system_account_id
from qianbao.wallet import transfer as wallet_transfer
from qianbao.wallet.accounts import wallet_account
from qianbao.wallet.models import WalletTransaction
from tests.conftest import base_settings
from tests.integration.ledger_helpers import check_invariants

PIN = "583920"
START = 3_000  # each customer's opening balance, in fen: small, so recipients run short
STATE: dict[str, object] = {}


class DisputeMachine(RuleBasedStateMachine):
    transactions = Bundle("transactions")
    cases = Bundle("cases")

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.clock = FrozenClock(datetime(2026, 3, 2, 4, 0, tzinfo=UTC))
        cfg = base_settings(
            sms={"outbox_path": Path(str(STATE["tmp"])) / "sms.jsonl", "console_echo": False}
        )
        cfg.risk.rules_enabled = False  # the rules are not what this machine is about
        cfg.risk.velocity_max = 0
        self.settings = cfg
        self.db = Database(str(STATE["url"]), clock=self.clock)
        self.ctx = IdentityContext(settings=cfg, db=self.db, clock=self.clock)
        self.customers, self.staff = self.run(self._people())

    def run(self, coro):  # type: ignore[no-untyped-def]
        return self.loop.run_until_complete(coro)

    def teardown(self) -> None:
        self.run(self.db.dispose())
        self.loop.close()

    async def _people(self) -> tuple[list[uuid.UUID], dict[str, uuid.UUID]]:
        customers, staff = [], {}
        async with self.db.transaction() as s:
            ledger = await Ledger.of_session(s)
            source = await system_account_id(ledger.conn, "equity", "CNY", "opening")
            for i in range(3):
                user = User(phone=f"+8613{uuid.uuid4().int % 10**9:09d}", password_hash="x",
                            real_name=f"客户{i}", kyc_tier=2)  # fmt: skip
                s.add(user)
                await s.flush()
                await set_pin(s, self.ctx, user, PIN)
                account = await wallet_account(s, user.id, "CNY")
                await ledger.post(
                    transfer(f"sm-fund-{user.id}", debit_account_id=source,
                             credit_account_id=account.id, amount=START, currency="CNY")
                )  # fmt: skip
                customers.append(user.id)
            for role in ("support_agent", "supervisor", "admin"):
                user = User(phone=f"+8613{uuid.uuid4().int % 10**9:09d}", password_hash="x",
                            real_name=role, role=role)  # fmt: skip
                s.add(user)
                await s.flush()
                staff[role] = user.id
        return customers, staff

    async def _call(self, fn, *args, **kwargs):  # type: ignore[no-untyped-def]
        """One service call in its own transaction; a refusal rolls back and is fine."""
        try:
            async with self.db.transaction() as s:
                return await fn(s, *args, **kwargs)
        except DomainError:
            return None

    # -- rules --------------------------------------------------------------------------------------
    @rule(
        target=transactions,
        sender=st.integers(0, 2),
        offset=st.integers(1, 2),
        amount=st.integers(1, 6_000),
    )
    def send(self, sender: int, offset: int, amount: int):  # type: ignore[no-untyped-def]
        async def go(s):  # type: ignore[no-untyped-def]
            user = await s.get(User, self.customers[sender])
            done = await wallet_transfer.send(
                s, self.ctx, user, to=str(self.customers[(sender + offset) % 3]),
                amount=Money(amount, "CNY"), note=None, pin=PIN, key=uuid.uuid4().hex,
            )  # fmt: skip
            return (self.customers[sender], done.transaction_id)

        return self.run(self._call(go))

    @rule(
        target=cases,
        tx=transactions,
        part=st.one_of(st.none(), st.integers(1, 6_000)),
        freeze=st.booleans(),
    )
    def claim(self, tx, part, freeze):  # type: ignore[no-untyped-def]
        if tx is None:
            return None

        async def go(s):  # type: ignore[no-untyped-def]
            user = await s.get(User, tx[0])
            case = await claims.open_claim(
                s, self.ctx, user, transaction_id=str(tx[1]), what_happened="not me",
                shared="nothing", freeze_account=freeze,
                claimed=Money(part, "CNY").to_decimal_string() if part else None,
            )  # fmt: skip
            return case.id

        return self.run(self._call(go))

    @rule(case=cases, refund=st.booleans(), amount=st.one_of(st.none(), st.integers(1, 6_000)))
    def recommend(self, case, refund, amount):  # type: ignore[no-untyped-def]
        if case is None:
            return

        async def go(s):  # type: ignore[no-untyped-def]
            agent = await s.get(User, self.staff["support_agent"])
            await review.recommend(
                s, self.settings, agent, case, refund=refund,
                amount=Money(amount, "CNY") if amount else None, note="found",
            )  # fmt: skip

        self.run(self._call(go))

    @rule(case=cases, approve=st.booleans(), who=st.sampled_from(["supervisor", "admin"]))
    def decide(self, case, approve, who):  # type: ignore[no-untyped-def]
        if case is None:
            return

        async def go(s):  # type: ignore[no-untyped-def]
            boss = await s.get(User, self.staff[who])
            await review.decide(s, self.settings, boss, case, approve=approve, reason="because")

        self.run(self._call(go))

    @rule(case=cases)
    def appeal(self, case):  # type: ignore[no-untyped-def]
        if case is None:
            return

        async def go(s):  # type: ignore[no-untyped-def]
            stored = await s.get(Case, case)
            user = await s.get(User, stored.user_id)
            await claims.appeal(s, self.ctx, user, case, note="please look again")

        self.run(self._call(go))

    @rule(who=st.integers(0, 2))
    def unfreeze(self, who):  # type: ignore[no-untyped-def]
        """Customers unfreeze (so that frozen accounts do not end every run early)."""

        async def go(s):  # type: ignore[no-untyped-def]
            from qianbao.identity import freeze

            user = await s.get(User, self.customers[who])
            if user.frozen_at is not None:
                user.frozen_at = None
                await freeze._set_ledger_status(s, user, "active")

        self.run(self._call(go))

    # -- invariants ---------------------------------------------------------------------------------
    @invariant()
    def money_is_neither_made_nor_lost(self) -> None:
        async def go() -> None:
            async with self.db.transaction() as s:
                ledger = await Ledger.of_session(s)
                await check_invariants(ledger.conn)
                written_off = 0
                for case in (await s.execute(select(Case))).scalars():
                    assert 0 <= case.held <= case.claimed <= case.amount
                    returned = case.recovered_held + case.written_off
                    if case.status == "refunded":
                        assert returned == case.recommended_amount
                        assert case.recovered_held <= case.held
                    if case.status in ("open", "recommended") and case.hold_id is not None:
                        hold = await ledger.hold_info(case.hold_id)
                        assert (hold["status"], hold["amount"]) == ("pending", case.held)
                    written_off += case.written_off
                losses = await system_account_id(ledger.conn, "equity", "CNY", "fraud_losses")
                posted = await ledger.conn.fetchval(
                    "SELECT posted FROM ledger_accounts WHERE id = $1", losses
                )
                assert posted == -written_off
                pending = await ledger.conn.fetchval(
                    "SELECT count(*) FROM ledger_holds WHERE status = 'pending'"
                )
                open_holds = sum(
                    1
                    for c in (await s.execute(select(Case))).scalars()
                    if c.status in ("open", "recommended") and c.hold_id is not None
                )
                assert pending == open_holds  # no hold outlives its case
                for user_id in self.customers:
                    account = await wallet_account(s, user_id, "CNY")
                    net = (
                        await s.execute(
                            select(
                                func.coalesce(
                                    func.sum(
                                        sql_case(
                                            (WalletTransaction.direction == "in",
                                             WalletTransaction.amount),
                                            else_=-WalletTransaction.amount,
                                        )
                                    ),
                                    0,
                                )
                            ).where(
                                WalletTransaction.user_id == user_id,
                                WalletTransaction.status == "completed",
                            )
                        )
                    ).scalar_one()  # fmt: skip
                    assert account.posted == START + int(net), (user_id, account.posted, net)

        self.run(go())


@pytest.mark.timeout(900)
def test_disputes_state_machine(fresh_db_url: str, tmp_path: Path) -> None:
    STATE["url"], STATE["tmp"] = fresh_db_url, tmp_path
    run = DisputeMachine.TestCase
    run.settings = settings(
        max_examples=20,
        stateful_step_count=50,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    run().runTest()
