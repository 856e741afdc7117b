"""The safeguarding report (F4), each day and per currency: what customers are owed (wallets,
merchants' payable money, money in suspense) against what the receiving accounts hold per the
banks' statements — the difference explained line by line from the ledger (money in transit at
the card acquirer, withdrawals not yet gone out, the operator's own funds). What the lines do
not explain is ``unexplained``: the banks' figures against the ledger's mirror of them; anything
but zero alerts the operators (an in-app notice to every supervisor and admin).

Lines (each an amount the bank should hold because of it; they add up to the expected bank
balance, which double entry makes equal to the mirror accounts' balance):
``customers``, ``merchants``, ``suspense``, ``card_in_transit``, ``payouts_in_transit``,
``own_funds``, ``other``; then ``bank`` (the statements' closing balances), ``notified`` (lines
notified by camt.054 since the last statement) and ``unexplained``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.dialects.postgresql import insert

from qianbao.banking.models import (
    BankStatement,
    ReceivingAccount,
    SafeguardingReport,
    StatementLine,
)
from qianbao.identity.models import User
from qianbao.kernel.clock import clock_of
from qianbao.kernel.i18n import N_
from qianbao.kernel.ids import uuid7
from qianbao.kernel.money import Money
from qianbao.ledger import Ledger
from qianbao.ledger.accounts import trial_balance
from qianbao.notifications import inbox

ALERT_TEMPLATE = "bank.safeguarding_alert"
LINES = (
    ("customers", N_("Customers' wallets")),
    ("merchants", N_("Merchants' balances and cash agents' floats")),
    ("suspense", N_("Received, not yet placed (suspense)")),
    ("card_in_transit", N_("Card top-ups the acquirer has not paid us yet")),
    ("payouts_in_transit", N_("Withdrawals booked but not yet gone out of the bank")),
    ("own_funds", N_("The operator's own funds (equity, fees earned, charges, interest)")),
    ("other", N_("Other ledger accounts")),
)
OWN_KINDS = ("equity", "fee_revenue", "settlement_in_transit", "fx")


@dataclass
class Report:
    day: date
    currency: str
    lines: dict[str, int] = field(default_factory=dict)
    expected: int = 0  # the sum of the lines: what the bank should hold
    mirror: int = 0  # the ledger's mirror of the receiving accounts
    bank: int = 0  # the statements' closing balances
    notified: int = 0  # camt.054 lines since the last statement
    accounts: int = 0  # receiving accounts with a statement

    @property
    def unexplained(self) -> int:
        return self.bank + self.notified - self.expected

    @property
    def owed(self) -> int:
        return (
            self.lines.get("customers", 0)
            + self.lines.get("merchants", 0)
            + self.lines.get("suspense", 0)
        )

    def figures(self) -> dict[str, Any]:
        return {
            "lines": self.lines,
            "expected": self.expected,
            "mirror": self.mirror,
            "bank": self.bank,
            "notified": self.notified,
            "accounts": self.accounts,
            "owed": self.owed,
            "unexplained": self.unexplained,
        }


def _line(kind: str, code: str | None) -> str | None:
    """Which report line an account group belongs to (None: a receiving account's mirror)."""
    if kind == "user_wallet" or kind == "hold":
        return "customers"
    if kind in ("merchant", "agent_float"):
        return "merchants"  # e-money owed to shops and to cash agents
    if kind == "suspense":
        return "suspense"
    if kind == "bank_clearing":
        if code and code.startswith("bank:"):
            return None
        return {"card": "card_in_transit", "payout": "payouts_in_transit"}.get(code or "", "other")
    if kind in OWN_KINDS:
        return "own_funds"
    return "other"


async def build(session: Any, day: date | None = None) -> list[Report]:
    ledger = await Ledger.of_session(session)
    day = day or clock_of(session).today()
    reports: dict[str, Report] = {}
    for row in await trial_balance(ledger.conn):
        report = reports.setdefault(row["currency"], Report(day, row["currency"]))
        line = _line(row["kind"], row["code"])
        if line is None:
            report.mirror += -row["posted"]
        else:
            report.lines[line] = report.lines.get(line, 0) + row["posted"]
    for report in reports.values():
        report.lines = {key: report.lines.get(key, 0) for key, _ in LINES}
        report.expected = sum(report.lines.values())
    for account in (await session.execute(select(ReceivingAccount))).scalars():
        report = reports.setdefault(account.currency, Report(day, account.currency))
        last = await session.scalar(
            select(BankStatement)
            .where(
                BankStatement.receiving_account_id == account.id,
                BankStatement.closing.is_not(None),
            )
            .order_by(BankStatement.to_date.desc().nulls_last(), BankStatement.created_at.desc())
            .limit(1)
        )
        if last is None:
            continue
        report.accounts += 1
        report.bank += int(last.closing or 0)
        signed = func.sum(
            case(
                (StatementLine.direction == "credit", StatementLine.amount),
                else_=-StatementLine.amount,
            )
        )
        notified = await session.scalar(
            select(signed)
            .join(BankStatement, BankStatement.id == StatementLine.statement_id)
            .where(
                StatementLine.receiving_account_id == account.id,
                BankStatement.kind == "camt.054",
                BankStatement.created_at > last.created_at,
            )
        )
        report.notified += int(notified or 0)
    return [r for _, r in sorted(reports.items()) if r.accounts or r.expected or r.mirror or r.owed]


async def daily(session: Any) -> list[SafeguardingReport]:
    """Today's report per currency, once (a periodic job); a non-zero unexplained difference
    notifies every supervisor and admin."""
    stored = []
    now = clock_of(session).now()
    for report in await build(session):
        row = (
            await session.execute(
                insert(SafeguardingReport)
                .values(
                    id=uuid7(),
                    day=report.day,
                    currency=report.currency,
                    figures=report.figures(),
                    unexplained=report.unexplained,
                    created_at=now,
                )
                .on_conflict_do_nothing(index_elements=["day", "currency"])
                .returning(SafeguardingReport.id)
            )
        ).scalar_one_or_none()
        if row is None:
            continue  # today's is already made
        stored.append(report)
        if report.unexplained != 0:
            await _alert(session, report)
    return [
        r
        for r in (
            await session.execute(
                select(SafeguardingReport).where(
                    SafeguardingReport.day == clock_of(session).today()
                )
            )
        ).scalars()
    ]


async def _alert(session: Any, report: Report) -> None:
    staff = (
        await session.execute(select(User.id).where(User.role.in_(("supervisor", "admin"))))
    ).scalars()
    for user_id in staff:
        await inbox.add(
            session,
            user_id=user_id,
            template=ALERT_TEMPLATE,
            params={
                "currency": report.currency,
                "day": report.day.isoformat(),
                "amount": Money(report.unexplained, report.currency).text(),
            },
            link="/ops/bank#safeguarding",
            dedup_key=f"safeguarding:{report.day}:{report.currency}:{user_id}",
        )


async def history(session: Any, *, limit: int = 14) -> list[SafeguardingReport]:
    return list(
        (
            await session.execute(
                select(SafeguardingReport)
                .order_by(SafeguardingReport.day.desc(), SafeguardingReport.currency)
                .limit(limit)
            )
        ).scalars()
    )
