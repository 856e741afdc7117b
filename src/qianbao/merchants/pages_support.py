"""What the customer's pay pages need beyond the services the JSON API uses: why a checkout
session cannot be paid (said before the customer types the PIN), the payment code's pictures for
a phone's screen, changing the limit without PIN with the PIN, and telling the customer when a
till took a small payment with their code (nothing to confirm, but they want to see it)."""

from __future__ import annotations

import base64
import re
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select

from qianbao.kernel.errors import DomainError
from qianbao.merchants import checkout, qr
from qianbao.merchants.errors import (
    MerchantNotActive,
    SessionAlreadyPaid,
    SessionCancelled,
    SessionExpired,
)
from qianbao.merchants.models import Merchant
from qianbao.merchants.models_payments import CheckoutSession, Payment

_CLOSED = {"paid": SessionAlreadyPaid, "expired": SessionExpired, "cancelled": SessionCancelled}
_SIZE = re.compile(r'\s(width|height)="([0-9.]+)(mm)?"')


def why_not_payable(row: CheckoutSession, merchant: Merchant, now: datetime) -> DomainError | None:
    """The refusal paying this session would meet now (paid, expired, cancelled, the shop not
    active), or None: the page shows it instead of the form."""
    status = checkout.effective_status(row, now)
    if status in _CLOSED:
        return _CLOSED[status]()
    if merchant.status != "active":
        return MerchantNotActive()
    return None


def _image(svg: str, *, stretch: bool = False) -> str:
    """An SVG as a data: URL for an <img> (its inline styles stay inside the image, which a
    page's CSP allows), with a viewBox so that it scales to the width of the phone. A barcode
    may ``stretch``: wider bars, all in proportion, read as well."""
    head, _, rest = svg.partition(">")
    if "viewBox" not in head:
        size = {k: float(v) * (96 / 25.4 if unit else 1) for k, v, unit in _SIZE.findall(head)}
        if "width" in size and "height" in size:
            head += f' viewBox="0 0 {size["width"]:.2f} {size["height"]:.2f}"'
    if stretch:
        head += ' preserveAspectRatio="none"'
    data = base64.b64encode(f"{head}>{rest}".encode()).decode()
    return f"data:image/svg+xml;base64,{data}"


def code_pictures(code: str) -> dict[str, str]:
    """A payment code for the screen: its barcode and QR code (data: URLs), its digits in groups
    of four, and the same with all but the first four hidden (someone may look over a shoulder)."""
    groups = [code[i : i + 4] for i in range(0, len(code), 4)]
    return {
        "barcode": _image(qr.barcode_svg(code), stretch=True),
        "qr": _image(qr.qr_svg(code)),
        "digits": " ".join(groups),
        "digits_hidden": " ".join([groups[0], *("•" * len(g) for g in groups[1:])]),
    }


async def latest_code_payment(session: Any, user_id: uuid.UUID, since: datetime) -> Payment | None:
    """The newest payment-code payment of this customer that succeeded after ``since``."""
    return (
        await session.execute(
            select(Payment)
            .where(
                Payment.customer_id == user_id,
                Payment.method == "payment_code",
                Payment.status == "succeeded",
                Payment.succeeded_at > since,
            )
            .order_by(Payment.succeeded_at.desc())
            .limit(1)
        )
    ).scalar_one_or_none()
