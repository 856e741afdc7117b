"""Settings of the Alipay and WeChat Pay top-up methods (``QIANBAO_PAYMENTS__ALIPAY__*``,
``QIANBAO_PAYMENTS__WECHATPAY__*``), offered next to the card acquirer when enabled. Part of
:class:`qianbao.settings_money.PaymentsSettings`; docs/payments.md explains each one.

A key setting holds the key itself (PEM; for Alipay also the bare base64 its tools print) or
``file:<path>`` to read it from a file when the service starts (``load_secret``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field, SecretStr

ALIPAY_GATEWAY = "https://openapi.alipay.com/gateway.do"
ALIPAY_SANDBOX_GATEWAY = "https://openapi-sandbox.dl.alipaydev.com/gateway.do"
WECHATPAY_API = "https://api.mch.weixin.qq.com"
FILE_PREFIX = "file:"


class TopupFeeRule(BaseModel):
    """What the user pays on top of the amount: ``fixed`` + ``percent`` of the amount, kept
    between ``minimum`` and ``maximum`` (decimal strings in CNY). Zero by default."""

    fixed: str = "0"
    percent: str = Field(default="0", description='Of the amount: "0.6" is 0.6 %.')
    minimum: str = "0"
    maximum: str | None = None


class TopupMethodSettings(BaseModel):
    enabled: bool = Field(default=False, description="Offer this method on the top-up page.")
    min_amount: str = Field(default="1.00", description="Smallest top-up (CNY).")
    max_amount: str = Field(default="5000.00", description="Largest single top-up (CNY).")
    fee: TopupFeeRule = Field(
        default_factory=TopupFeeRule,
        description="Charged to the user on top of the amount and posted as fee revenue.",
    )
    notify_base_url: str | None = Field(
        default=None,
        description="The public base (https://pay.example.com) the provider posts its "
        "notifications to; by default the service's public URL (http.public_url), else the "
        "origin the user's request came in on.",
    )


class AlipaySettings(TopupMethodSettings):
    app_id: str | None = Field(default=None, description="The app's APPID (2021…).")
    app_private_key: SecretStr | None = Field(
        default=None,
        description="The app's RSA2 private key (应用私钥): PEM, bare base64, or file:<path>.",
    )
    alipay_public_key: str | None = Field(
        default=None,
        description="Alipay's public key (支付宝公钥, not the app's own): PEM, bare base64, or "
        "file:<path>.",
    )
    gateway_url: str = Field(
        default=ALIPAY_GATEWAY,
        description=f"Production: {ALIPAY_GATEWAY}; sandbox: {ALIPAY_SANDBOX_GATEWAY}.",
    )
    seller_id: str | None = Field(
        default=None,
        description="The merchant's PID (2088…); when set, notifications must name it.",
    )


class WechatPaySettings(TopupMethodSettings):
    appid: str | None = Field(default=None, description="The AppID bound to the merchant.")
    mchid: str | None = Field(default=None, description="The merchant id (商户号).")
    merchant_serial_no: str | None = Field(
        default=None, description="Serial number of the merchant API certificate."
    )
    merchant_private_key: SecretStr | None = Field(
        default=None,
        description="The merchant API certificate's private key (apiclient_key.pem): PEM or "
        "file:<path>.",
    )
    api_v3_key: SecretStr | None = Field(
        default=None, description="The APIv3 key (32 characters), or file:<path>."
    )
    platform_keys: dict[str, str] = Field(
        default_factory=dict,
        description="Serial → PEM (platform certificate or WeChat Pay public key, "
        "PUB_KEY_ID_…), each value PEM or file:<path>; JSON in the environment.",
    )
    base_url: str = Field(default=WECHATPAY_API, description="The API v3 base URL.")


def load_secret(value: str) -> str:
    """A key setting's text: itself, or the contents of the file ``file:<path>`` names."""
    if value.startswith(FILE_PREFIX):
        path = Path(value[len(FILE_PREFIX) :]).expanduser()
        try:
            return path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise RuntimeError(f"Cannot read the key file {path}: {exc.strerror}.") from None
    return value
