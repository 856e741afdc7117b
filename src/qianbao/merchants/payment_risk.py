"""The real-time risk rules (D2) on a payment to a shop: allowed, confirmed by a step-up bound to
the price and the shop, sent to the customer's phone when a till started it, or refused."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from qianbao.identity.context import IdentityContext
from qianbao.identity.models import User
from qianbao.kernel.money import Money
from qianbao.merchants.models import Merchant
from qianbao.wallet import risk_checks, step_up

if TYPE_CHECKING:
    from qianbao.merchants.pay import Order


class NeedsCustomer(Exception):
    """The risk rules want the customer to confirm a payment the till started without them."""


def step_up_bound(merchant_id: uuid.UUID, amount: Money) -> str:
    """A step-up for a payment confirms this price at this shop and nothing else."""
    return step_up.bound_to("payment", merchant_id, amount)


async def judge(
    session: Any,
    ctx: IdentityContext,
    customer: User,
    merchant: Merchant,
    order: Order,
    charged: Money,
    *,
    device_id: uuid.UUID | None,
    pin_failures: int,
    proof: step_up.Proof | None,
    unattended: bool,
) -> tuple[risk_checks.Assessment | None, str | None]:
    """The real-time rules on a payment (D2), under the customer's limits lock: allowed, or
    confirmed by a step-up bound to the price and the shop, or refused. A hold asks for a step-up
    here: a shop at the till or a checkout cannot wait half an hour for an answer. A payment the
    till started without the customer (a payment code under the no-PIN limit) goes to the
    customer's phone instead (``NeedsCustomer``)."""
    assessment = await risk_checks.assess(
        session,
        ctx,
        customer.id,
        channel="payment",
        amount=charged,
        payee_id=None,
        device_id=device_id,
        pin_failures=pin_failures,
    )
    if assessment is None or assessment.decision.action == "allow":
        return assessment, None
    if unattended and assessment.decision.action != "block":
        raise NeedsCustomer()
    values = risk_checks.decision_values(
        assessment,
        customer.id,
        channel="payment",
        amount=charged,
        counterparty_id=merchant.id,
        device_id=device_id,
        transaction_id=None,
    )
    outcome = await step_up.required(
        session, ctx, customer, values, proof, bound=step_up_bound(merchant.id, order.amount)
    )
    return assessment, outcome
