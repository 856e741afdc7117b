"""Choosing the configured backends (settings.payments)."""

from __future__ import annotations

from typing import Any

from qianbao.rails.acquiring import CardAcquirer
from qianbao.rails.dev_payouts import FilePayouts
from qianbao.rails.payouts import PayoutProvider
from qianbao.rails.sandbox import SandboxAcquirer, sandbox_secret


def acquirer(settings: Any) -> CardAcquirer:
    return SandboxAcquirer(
        sandbox_secret(settings), settings.http.public_url, settings.payments.callback_tolerance_s
    )


def payouts(settings: Any) -> PayoutProvider:
    return FilePayouts(
        settings.payments.payout_outbox_path, settings.payments.payout_settle_after_s
    )
