"""The operator's merchant money report: what the merchant records say (payments, refunds,
settlements) beside what the ledger holds (the merchant accounts, fee revenue and marketing
from merchant entries), with the checks that they agree to the fen.

All-time figures (the ledger's balances are all-time): every check is an identity that holds at
any moment, whatever is in flight.

- merchant accounts, posted  = Σ payments (price − fee) − Σ refunds (amount − fee returned)
                                − Σ settlements paid (net)
- merchant accounts, held    = Σ settlements submitted, not yet paid (net)
- fee revenue from merchants = Σ fees − Σ fees returned
- marketing (funds discounts) = −(Σ discounts − Σ discounts returned)
- each paid settlement = Σ its payments' (price − fee) − Σ its refunds' (amount − fee returned)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select

from qianbao.kernel.i18n import N_
from qianbao.ledger import Ledger
from qianbao.ledger import accounts as ledger_accounts
from qianbao.merchants.accounts import CURRENCY, fee_account_ids
from qianbao.merchants.models_payments import Payment, Refund, Settlement

ENTRY_TYPES = ["merchant_payment", "merchant_refund"]


@dataclass(frozen=True)
class Check:
    name: str  # a msgid (N_): the page translates it
    expected: int  # from the merchant records
    actual: int  # from the ledger

    @property
    def ok(self) -> bool:
        return self.expected == self.actual


@dataclass
class MoneyReport:
    currency: str
    merchants_with_accounts: int
    payments: int
    gross: int
    discounts: int
    fees: int
    refunds: int
    refunded: int
    fees_returned: int
    discounts_returned: int
    settled_paid: int
    settlements_paid: int
    settled_in_flight: int
    settlements_in_flight: int
    merchant_posted: int
    merchant_held: int
    fee_revenue: int
    marketing: int
    charged_back: int = 0  # upheld customer claims taken back from the merchants (disputes)
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)


async def money_report(session: Any, currency: str = CURRENCY) -> MoneyReport:
    paid = (
        await session.execute(
            select(
                func.count(),
                func.coalesce(func.sum(Payment.amount), 0),
                func.coalesce(func.sum(Payment.discount), 0),
                func.coalesce(func.sum(Payment.fee), 0),
                func.coalesce(func.sum(Payment.charged_back), 0),
            ).where(Payment.status == "succeeded", Payment.currency == currency)
        )
    ).one()
    back = (
        await session.execute(
            select(
                func.count(),
                func.coalesce(func.sum(Refund.amount), 0),
                func.coalesce(func.sum(Refund.fee_returned), 0),
                func.coalesce(func.sum(Refund.discount_returned), 0),
            ).where(Refund.status == "succeeded", Refund.currency == currency)
        )
    ).one()
    by_status = {
        status: (int(n), int(net))
        for status, n, net in (
            await session.execute(
                select(Settlement.status, func.count(), func.coalesce(func.sum(Settlement.net), 0))
                .where(Settlement.currency == currency)
                .group_by(Settlement.status)
            )
        ).all()
    }
    ledger = await Ledger.of_session(session)
    n_merchants, posted, held = await ledger_accounts.kind_totals(ledger.conn, "merchant", currency)
    fee_accounts = await fee_account_ids(ledger.conn, currency)
    marketing_account = await ledger_accounts.system_account_id(
        ledger.conn, "equity", currency, "marketing"
    )
    fees_in = await ledger_accounts.totals_by_entry_type(ledger.conn, fee_accounts, ENTRY_TYPES)
    marketing_in = await ledger_accounts.totals_by_entry_type(
        ledger.conn, marketing_account, ENTRY_TYPES
    )
    report = MoneyReport(
        currency=currency,
        merchants_with_accounts=n_merchants,
        payments=int(paid[0]),
        gross=int(paid[1]),
        discounts=int(paid[2]),
        fees=int(paid[3]),
        refunds=int(back[0]),
        refunded=int(back[1]),
        fees_returned=int(back[2]),
        discounts_returned=int(back[3]),
        settlements_paid=by_status.get("paid", (0, 0))[0],
        settled_paid=by_status.get("paid", (0, 0))[1],
        settlements_in_flight=sum(by_status.get(s, (0, 0))[0] for s in ("created", "submitted")),
        settled_in_flight=sum(by_status.get(s, (0, 0))[1] for s in ("created", "submitted")),
        merchant_posted=posted,
        merchant_held=held,
        fee_revenue=sum(fees_in.values()),
        marketing=sum(marketing_in.values()),
        charged_back=int(paid[4]),
    )
    r = report
    owed = (r.gross - r.fees) - (r.refunded - r.fees_returned) - r.charged_back - r.settled_paid
    report.checks = [
        Check(N_("Merchant accounts (posted)"), owed, r.merchant_posted),
        Check(N_("Merchant accounts (held for payouts)"), r.settled_in_flight, r.merchant_held),
        Check(N_("Fee revenue from merchants"), r.fees - r.fees_returned, r.fee_revenue),
        Check(
            N_("Marketing (promo discounts)"), -(r.discounts - r.discounts_returned), r.marketing
        ),
        Check(
            N_("Paid settlements against their lines"),
            r.settled_paid,
            await _lines_paid(session, currency),
        ),
    ]
    return report


async def _lines_paid(session: Any, currency: str) -> int:
    """Σ over paid settlements of what their lines add up to (payments' net − refunds' net)."""
    paid_ids = select(Settlement.id).where(
        Settlement.status == "paid", Settlement.currency == currency
    )
    payments = (
        await session.execute(
            select(func.coalesce(func.sum(Payment.amount - Payment.fee), 0)).where(
                Payment.settlement_id.in_(paid_ids)
            )
        )
    ).scalar_one()
    refunds = (
        await session.execute(
            select(func.coalesce(func.sum(Refund.amount - Refund.fee_returned), 0)).where(
                Refund.settlement_id.in_(paid_ids)
            )
        )
    ).scalar_one()
    return int(payments) - int(refunds)
