"""Choosing the configured backends (settings.payments)."""

from __future__ import annotations

from typing import Any

import httpx

from qianbao.kernel.crypto import Sealer
from qianbao.rails.acquiring import CardAcquirer
from qianbao.rails.alipay import AlipayAcquirer
from qianbao.rails.bank_file_payouts import SEALER_PURPOSE as BANK_PAYOUT_SEALER
from qianbao.rails.bank_file_payouts import BankFilePayouts
from qianbao.rails.dev_payouts import FilePayouts
from qianbao.rails.payouts import PayoutProvider
from qianbao.rails.sandbox import SandboxAcquirer, sandbox_secret
from qianbao.rails.stripe import StripeCheckoutAcquirer
from qianbao.rails.wechatpay import WechatPayAcquirer
from qianbao.settings_acquirers import load_secret

# The top-up methods a deployment can offer: the card acquirer (sandbox or stripe) always, the
# wallets when enabled in settings.payments.
METHODS = ("card", "alipay", "wechatpay")


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


def _alipay(settings: Any, transport: httpx.AsyncBaseTransport | None = None) -> AlipayAcquirer:
    a = settings.payments.alipay
    missing = [
        name
        for name, value in (
            ("APP_ID", a.app_id),
            ("APP_PRIVATE_KEY", a.app_private_key),
            ("ALIPAY_PUBLIC_KEY", a.alipay_public_key),
        )
        if not value
    ]
    if missing:
        raise RuntimeError(
            "QIANBAO_PAYMENTS__ALIPAY__ENABLED=true needs "
            + " and ".join(f"QIANBAO_PAYMENTS__ALIPAY__{m}" for m in missing)
            + "."
        )
    try:
        return AlipayAcquirer(
            app_id=a.app_id,
            app_private_key=load_secret(a.app_private_key.get_secret_value()),
            alipay_public_key=load_secret(a.alipay_public_key),
            gateway_url=a.gateway_url,
            seller_id=a.seller_id,
            tolerance_s=settings.payments.callback_tolerance_s,
            transport=transport,
        )
    except (ValueError, TypeError):  # never echo the key itself
        raise RuntimeError(
            "QIANBAO_PAYMENTS__ALIPAY__APP_PRIVATE_KEY or __ALIPAY_PUBLIC_KEY is not a readable "
            "RSA key (PEM or base64)."
        ) from None


def _wechatpay(settings: Any, transport: httpx.AsyncBaseTransport | None) -> WechatPayAcquirer:
    w = settings.payments.wechatpay
    missing = [
        name
        for name, value in (
            ("APPID", w.appid),
            ("MCHID", w.mchid),
            ("MERCHANT_SERIAL_NO", w.merchant_serial_no),
            ("MERCHANT_PRIVATE_KEY", w.merchant_private_key),
            ("API_V3_KEY", w.api_v3_key),
            ("PLATFORM_KEYS", w.platform_keys),
        )
        if not value
    ]
    if missing:
        raise RuntimeError(
            "QIANBAO_PAYMENTS__WECHATPAY__ENABLED=true needs "
            + " and ".join(f"QIANBAO_PAYMENTS__WECHATPAY__{m}" for m in missing)
            + "."
        )
    api_v3_key = load_secret(w.api_v3_key.get_secret_value())
    if len(api_v3_key.encode()) != 32:
        raise RuntimeError("QIANBAO_PAYMENTS__WECHATPAY__API_V3_KEY must be 32 characters.")
    try:
        return WechatPayAcquirer(
            appid=w.appid,
            mchid=w.mchid,
            merchant_serial_no=w.merchant_serial_no,
            merchant_private_key=load_secret(w.merchant_private_key.get_secret_value()),
            api_v3_key=api_v3_key,
            platform_keys={s: load_secret(pem) for s, pem in w.platform_keys.items()},
            base_url=w.base_url,
            tolerance_s=settings.payments.callback_tolerance_s,
            transport=transport,
        )
    except (ValueError, TypeError):
        raise RuntimeError(
            "QIANBAO_PAYMENTS__WECHATPAY__MERCHANT_PRIVATE_KEY or a __PLATFORM_KEYS entry is not "
            "a readable RSA key or certificate (PEM)."
        ) from None


class Acquirers:
    """The top-up methods this deployment offers, each with its acquirer; built once when the
    service starts (``acquirers``), so a missing or unreadable key stops it with a clear error."""

    def __init__(self, by_method: dict[str, CardAcquirer]) -> None:
        self._by_method = by_method

    @property
    def methods(self) -> list[str]:
        return [m for m in METHODS if m in self._by_method]

    def for_method(self, method: str) -> CardAcquirer | None:
        return self._by_method.get(method)

    def for_provider(self, provider: str) -> CardAcquirer | None:
        """The acquirer whose ``name`` (the path of its notify route) is ``provider``."""
        return next((a for a in self._by_method.values() if a.name == provider), None)


def acquirers(settings: Any, *, transport: httpx.AsyncBaseTransport | None = None) -> Acquirers:
    """``transport``: the HTTP transport of the providers called server to server (tests)."""
    found: dict[str, CardAcquirer] = {"card": acquirer(settings)}
    if settings.payments.alipay.enabled:
        found["alipay"] = _alipay(settings, transport)
    if settings.payments.wechatpay.enabled:
        found["wechatpay"] = _wechatpay(settings, transport)
    return Acquirers(found)


def acquirers_of(request: Any) -> Acquirers:
    """The application's methods (``app.state.acquirers``, set by ``create_app``)."""
    found = getattr(request.app.state, "acquirers", None)
    if found is None:
        found = request.app.state.acquirers = acquirers(request.app.state.settings)
    return found


def payouts(settings: Any) -> PayoutProvider:
    if settings.payments.payout_backend == "bank_file":
        return bank_file_payouts(settings)
    return FilePayouts(
        settings.payments.payout_outbox_path, settings.payments.payout_settle_after_s
    )


def bank_file_payouts(settings: Any) -> BankFilePayouts:
    return BankFilePayouts(Sealer.for_purpose(settings.data_key_bytes(), BANK_PAYOUT_SEALER))
