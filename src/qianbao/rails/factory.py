"""Choosing the configured backends (settings.payments)."""

from __future__ import annotations

from typing import Any

from qianbao.kernel.crypto import Sealer
from qianbao.rails.acquiring import CardAcquirer
from qianbao.rails.bank_file_payouts import SEALER_PURPOSE as BANK_PAYOUT_SEALER
from qianbao.rails.bank_file_payouts import BankFilePayouts
from qianbao.rails.dev_payouts import FilePayouts
from qianbao.rails.payouts import PayoutProvider
from qianbao.rails.sandbox import SandboxAcquirer, sandbox_secret
from qianbao.rails.stripe import StripeCheckoutAcquirer


def acquirer(settings: Any) -> CardAcquirer:
    p = settings.payments
    if p.acquirer == "stripe":
        if p.stripe_secret_key is None or p.stripe_webhook_secret is None:
            raise RuntimeError(
                "QIANBAO_PAYMENTS__ACQUIRER=stripe needs QIANBAO_PAYMENTS__STRIPE_SECRET_KEY and "
                "QIANBAO_PAYMENTS__STRIPE_WEBHOOK_SECRET."
            )
        return StripeCheckoutAcquirer(
            secret_key=p.stripe_secret_key.get_secret_value(),
            webhook_secret=p.stripe_webhook_secret.get_secret_value().encode(),
            base_url=p.stripe_base_url,
            tolerance_s=p.callback_tolerance_s,
        )
    return SandboxAcquirer(sandbox_secret(settings), p.callback_tolerance_s)


def payouts(settings: Any) -> PayoutProvider:
    if settings.payments.payout_backend == "bank_file":
        return bank_file_payouts(settings)
    return FilePayouts(
        settings.payments.payout_outbox_path, settings.payments.payout_settle_after_s
    )


def bank_file_payouts(settings: Any) -> BankFilePayouts:
    return BankFilePayouts(Sealer.for_purpose(settings.data_key_bytes(), BANK_PAYOUT_SEALER))
