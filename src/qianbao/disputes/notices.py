"""Telling the customer about their case at every step: in the app (with a link to the case) and
by SMS, in their language."""

from __future__ import annotations

from typing import Any

from qianbao.disputes.models import Case
from qianbao.identity.models import User
from qianbao.identity.phones import mask_name, mask_phone
from qianbao.kernel.money import Money
from qianbao.notifications import inbox, outbox_sealer
from qianbao.notifications import request as request_notification
from qianbao.wallet.recipients import payee_label

STEPS = (
    "disputes.case_opened",
    "disputes.case_refunded",
    "disputes.case_rejected",
    "disputes.return_asked",  # to the recipient of a mistaken transfer
    "disputes.returned",
    "disputes.return_declined",
)


async def tell(
    session: Any,
    settings: Any,
    user: User,
    case: Case,
    template: str,
    *,
    sender: User | None = None,
) -> None:
    """``sender``: the recipient of a mistaken transfer is told who asks (masked)."""
    params = {
        "reference": case.reference,
        "amount": Money(case.claimed, case.currency).text(),
        "held": Money(case.held, case.currency).text(),
        "refunded": Money(case.returned, case.currency).text(),
    }
    if sender is not None:
        params["who"] = payee_label(mask_name(sender.real_name), mask_phone(sender.phone))
    link = f"/wallet/returns/{case.id}" if user.id != case.user_id else f"/wallet/cases/{case.id}"
    created = await inbox.add(
        session,
        user_id=user.id,
        template=template,
        params=params,
        link=link,
        dedup_key=f"case:{case.id}:{template}:{case.updated_at.isoformat()}",
    )
    if created:
        await request_notification(
            session,
            channel="sms",
            to=user.phone,
            template=template,
            locale=user.locale,
            params=params,
            sealer=outbox_sealer(settings),
        )
