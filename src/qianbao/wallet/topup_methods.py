"""The ways to top up a deployment offers (B4): the card acquirer (B2) always, Alipay and WeChat
Pay when enabled in ``settings.payments`` — each with its own smallest and largest top-up and
its own fee, which the user pays on top of the amount (the provider collects amount + fee; the
fee is its own ledger leg into fee revenue, never netted out of the amount).

The per-method range is checked next to the user's own top-up limits (``wallet.limits``), which
apply whatever the method."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from qianbao.kernel.i18n import N_
from qianbao.kernel.money import Money
from qianbao.ledger import PostEntry, transfer
from qianbao.ledger.accounts import system_account_id
from qianbao.moneyconf import values as moneyconf
from qianbao.wallet.errors import CurrencyClosed, TopupAmountOutOfRange, TopupMethodUnavailable
from qianbao.wallet.fees import FeeSchedule

CURRENCY = "CNY"
LABELS = {"card": N_("Bank card"), "alipay": N_("Alipay"), "wechatpay": N_("WeChat Pay")}
HINTS = {
    "card": N_("Confirm the payment on your bank's page."),
    "alipay": N_("Pay in the Alipay app or on Alipay's page."),
    "wechatpay": N_("Pay in WeChat on this phone."),
}


@dataclass(frozen=True)
class Offer:
    """One method as offered: amounts in minor units (``None``: no range of its own)."""

    method: str
    minimum: int | None
    maximum: int | None
    fee: FeeSchedule | None
    currency: str = CURRENCY

    @property
    def label(self) -> str:
        return LABELS[self.method]

    @property
    def hint(self) -> str:
        return HINTS[self.method]

    @property
    def has_fee(self) -> bool:
        f = self.fee
        return f is not None and bool(f.fixed or f.percent or f.minimum)

    def fee_for(self, amount: int) -> int:
        return self.fee.fee_for(amount) if self.fee is not None else 0

    def check(self, amount: Money) -> None:
        low = self.minimum if self.minimum is not None else 1
        high = self.maximum
        if amount.minor < low or (high is not None and amount.minor > high):
            raise TopupAmountOutOfRange(
                method=self.label,
                minimum=Money(low, amount.currency),
                maximum=Money(high if high is not None else amount.minor, amount.currency),
            )


def _offer(method: str, rule: Any, fee: FeeSchedule | None = None) -> Offer:
    def minor(value: str) -> int:
        return Money.parse(value, CURRENCY).minor

    return Offer(
        method=method,
        minimum=minor(rule.min_amount),
        maximum=minor(rule.max_amount),
        fee=fee if fee is not None else FeeSchedule.from_rule(rule.fee, CURRENCY),
    )


def enabled(settings: Any) -> list[str]:
    """The methods offered: the card acquirer, then the wallets enabled in the settings."""
    p = settings.payments
    return ["card"] + [m for m in ("alipay", "wechatpay") if getattr(p, m).enabled]


def offers(settings: Any, fees: dict[str, FeeSchedule] | None = None) -> list[Offer]:
    """The methods with their settings' fees, or ``fees`` (method → the fee in force)."""
    found = []
    for method in enabled(settings):
        if method == "card":
            found.append(Offer(method="card", minimum=None, maximum=None, fee=None))
        else:
            rule = getattr(settings.payments, method)
            found.append(_offer(method, rule, (fees or {}).get(method)))
    return found


async def offers_in_force(session: Any, settings: Any) -> list[Offer]:
    """The methods with the fees in force (the finance console's plans, else the settings');
    none while the finance console has the currency closed to top-ups."""
    if not (await moneyconf.currency(session, settings, CURRENCY)).enabled:
        return []
    plans = await moneyconf.plans(session, settings, CURRENCY)
    fees = {
        target.split(":", 1)[1]: plan.schedule
        for target, plan in plans.items()
        if target.startswith("topup:") and plan is not None
    }
    return offers(settings, fees)


async def offer(session: Any, settings: Any, method: str) -> Offer:
    if not (await moneyconf.currency(session, settings, CURRENCY)).enabled:
        raise CurrencyClosed(currency=CURRENCY)
    for o in await offers_in_force(session, settings):
        if o.method == method:
            return o
    raise TopupMethodUnavailable()


def notify_site(settings: Any, method: str) -> str | None:
    if method == "card":
        return None
    return getattr(settings.payments, method).notify_base_url or None


def clearing_code(provider: str) -> str:
    """The clearing account (kind bank_clearing) the provider's money waits in."""
    return provider if provider in ("alipay", "wechatpay") else "card"


async def credit_entry(
    conn: Any, topup: Any, to: int, entry_type: str, *, with_fee: bool = True
) -> PostEntry:
    """The entry crediting a paid top-up: the provider's clearing account gives amount + fee,
    ``to`` gets the amount, fee revenue the fee (``with_fee=False``: ``to`` gets it all)."""
    cur = topup.currency
    source = await system_account_id(conn, "bank_clearing", cur, clearing_code(topup.provider))
    fee = topup.fee if with_fee else 0
    return transfer(
        f"topup:{topup.id}",
        debit_account_id=source,
        credit_account_id=to,
        amount=topup.amount + topup.fee - fee,
        currency=cur,
        entry_type=entry_type,
        metadata={"topup": str(topup.id), "user": str(topup.user_id)},
        fee=fee,
        fee_account_id=await system_account_id(conn, "fee_revenue", cur) if fee else None,
    )
