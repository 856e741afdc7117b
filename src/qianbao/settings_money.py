"""Settings groups for money and abuse: fees, the payment rails, the risk rules and the
per-address limits (``QIANBAO_PAYMENTS__*``, ``QIANBAO_RISK__*``, ``QIANBAO_THROTTLE__*``).
Part of :mod:`qianbao.settings`, which assembles every group."""

from __future__ import annotations

import secrets
from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr

from qianbao.settings_acquirers import AlipaySettings, WechatPaySettings


class FeeRule(BaseModel):
    """A fee: ``fixed`` + ``percent`` of the amount, then kept between ``minimum`` and
    ``maximum``. Amounts are decimal strings in the currency of the operation."""

    fixed: str = "0"
    percent: str = Field(default="0", description='Of the amount: "0.1" is 0.1 %.')
    minimum: str = "0"
    maximum: str | None = None


# China's public holidays and the weekend days worked instead (调休), from the State Council's
# notice for 2026. Operators keep these lists current (QIANBAO_PAYMENTS__HOLIDAYS / __WORKDAYS).
CN_HOLIDAYS_2026 = [
    "2026-01-01", "2026-01-02", "2026-01-03",
    "2026-02-15", "2026-02-16", "2026-02-17", "2026-02-18", "2026-02-19", "2026-02-20",
    "2026-02-21", "2026-02-22", "2026-02-23",
    "2026-04-04", "2026-04-05", "2026-04-06",
    "2026-05-01", "2026-05-02", "2026-05-03", "2026-05-04", "2026-05-05",
    "2026-06-19", "2026-06-20", "2026-06-21",
    "2026-09-25", "2026-09-26", "2026-09-27",
    "2026-10-01", "2026-10-02", "2026-10-03", "2026-10-04", "2026-10-05", "2026-10-06",
    "2026-10-07",
]  # fmt: skip
CN_WORKDAYS_2026 = [
    "2026-01-04", "2026-02-14", "2026-02-28", "2026-05-09", "2026-09-20", "2026-10-10",
]  # fmt: skip


class FxSettings(BaseModel):
    """Exchange between a user's wallets: where the rates come from and how long a quote holds."""

    rate_provider: Literal["table", "dev"] = Field(
        default="table",
        description="table: only the rates an operator set in the finance console (a currency "
        "without one cannot be exchanged). dev: the console's rates where set, else fixed "
        "reference rates shipped for development (never in production).",
    )
    quote_ttl_s: int = Field(
        default=30, ge=5, le=600, description="Seconds a quote's rate and amounts hold."
    )
    default_spread: str = Field(
        default="0.5",
        description="Percent a customer pays on an exchange when the console set no spread for "
        "the currency (rates from the provider).",
    )


class PaymentsSettings(BaseModel):
    acquirer: Literal["sandbox", "stripe"] = Field(
        default="sandbox",
        description="Card top-ups: sandbox (a built-in provider with a hosted confirmation page "
        "and signed asynchronous callbacks; test cards in docs/payments.md) or stripe "
        "(Stripe Checkout; set stripe_secret_key and stripe_webhook_secret).",
    )
    stripe_secret_key: SecretStr | None = None
    stripe_webhook_secret: SecretStr | None = Field(
        default=None, description="The signing secret (whsec_…) of the webhook endpoint."
    )
    stripe_base_url: str = "https://api.stripe.com"
    alipay: AlipaySettings = Field(
        default_factory=AlipaySettings,
        description="Top-ups by Alipay mobile-web pay, offered next to the card acquirer when "
        "enabled (docs/payments.md).",
    )
    wechatpay: WechatPaySettings = Field(
        default_factory=WechatPaySettings,
        description="Top-ups by WeChat Pay H5, offered next to the card acquirer when enabled "
        "(docs/payments.md).",
    )
    sandbox_secret: SecretStr | None = Field(
        default=None,
        description="Key the sandbox signs its callbacks with. Development keeps one under var/.",
    )
    callback_tolerance_s: int = Field(
        default=300, description="Refuse provider callbacks signed longer ago than this."
    )
    topup_expiry_minutes: int = 30
    payout_backend: Literal["file", "bank_file"] = Field(
        default="file",
        description="file: development, writes each payout instruction to payout_outbox_path "
        "and settles it after payout_settle_after_s (test account numbers fail or return). "
        "bank_file: with a real bank — approved withdrawals go out in ISO 20022 pain.001 files "
        "an operator releases at /ops/bank (four-eyes); the bank's pain.002 and statements "
        "settle or return them.",
    )
    payout_outbox_path: Path = Path("var/payouts.jsonl")
    payout_settle_after_s: float = 5.0
    payout_poll_interval_s: float = 10.0
    withdrawal_fees: dict[str, FeeRule] = Field(
        default_factory=lambda: {
            "card": FeeRule(fixed="1.00", percent="0.1", minimum="1.00", maximum="25.00"),
            "iban": FeeRule(fixed="5.00", percent="0", minimum="5.00", maximum="5.00"),
        },
        description="Withdrawal fee per method (card, iban).",
    )
    withdrawal_review_above: str = Field(
        default="5000.00",
        description="Withdrawals above this amount wait for an operator's approval.",
    )
    withdrawal_business_days: dict[str, int] = Field(
        default_factory=lambda: {"card": 1, "iban": 2},
        description="Business days until the money arrives, per method.",
    )
    cutoff_hour: int = Field(
        default=16, description="Requests after this hour (China time) count from the next day."
    )
    holidays: list[date] = Field(
        default_factory=lambda: [date.fromisoformat(d) for d in CN_HOLIDAYS_2026]
    )
    workdays: list[date] = Field(
        default_factory=lambda: [date.fromisoformat(d) for d in CN_WORKDAYS_2026],
        description="Weekend days that are working days.",
    )
    currencies: list[str] = Field(
        default_factory=lambda: ["CNY"],
        description="Currencies users may open wallets in (codes: CNY, USD, EUR, HKD, JPY, "
        "USDT). The finance console switches each on or off (four-eyes); CNY is always open.",
    )
    fx: FxSettings = Field(
        default_factory=lambda: FxSettings(),
        description="Exchange between a user's wallets (docs/payments.md, Exchange).",
    )

    def sandbox_secret_bytes(self, var_dir: Path, production: bool) -> bytes:
        if self.sandbox_secret is not None:
            return self.sandbox_secret.get_secret_value().encode()
        if production:
            raise RuntimeError("QIANBAO_PAYMENTS__SANDBOX_SECRET is not set.")
        path = var_dir / "sandbox_secret"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(32))
            path.chmod(0o600)
        return path.read_text().strip().encode()


class RiskSettings(BaseModel):
    velocity_max: int = Field(
        default=30,
        description="Money-out operations allowed in velocity_window_s; one more restricts the "
        "account until an operator reviews it. 0 turns the rule off.",
    )
    velocity_window_s: int = 600
    rules_enabled: bool = Field(
        default=True,
        description="The real-time rules (D2) judge every transfer before it posts; their "
        "thresholds live in the database (console → Risk → Rules). False skips them all.",
    )
    hold_answer_minutes: int = Field(
        default=30,
        description="How long a held transfer waits for the user's 'Was this you?' answer; "
        "no answer cancels it.",
    )
    recent_hours: int = Field(
        default=72,
        description="How long a device, a password reset or a phone change counts as new.",
    )


class DisputesSettings(BaseModel):
    """Unauthorized-transaction claims and mistaken transfers (D4)."""

    claim_window_days: int = Field(
        default=60, description="How old a transaction may be when it is claimed."
    )
    recommend_hours: int = Field(
        default=48, description="SLA: an agent recommends within this time of the claim."
    )
    decide_hours: int = Field(
        default=24, description="SLA: a supervisor decides within this time of the recommendation."
    )
    appeal_days: int = Field(
        default=30, description="A rejected claim may be appealed once within this time."
    )
    merchant_answer_days: int = Field(
        default=7, description="A merchant has this long to answer a claim on its payment."
    )
    return_days: int = Field(
        default=7,
        description="A mistaken transfer's recipient has this long to send it back before it "
        "becomes a support case.",
    )


class ThrottleSettings(BaseModel):
    """Requests a minute per client address, refused at the edge before the database is touched
    (``429 request.rate_limited``, ``Retry-After``); 0 turns a rule off. Generous on purpose:
    many phones share one address behind a mobile carrier's NAT. The per-account limits
    (identity.*) still apply behind these."""

    sign_in_per_minute: int = Field(
        default=30, description="Password, second-factor and passkey sign-ins (API and pages)."
    )
    codes_per_minute: int = Field(
        default=20, description="Sign-up and password-reset requests (codes, checks)."
    )
    tickets_per_minute: int = Field(default=10, description="New support tickets.")
    chat_per_minute: int = Field(
        default=60,
        description="Live-chat messages and images sent over HTTP (the chat's "
        "own limit per conversation applies too).",
    )
    search_per_minute: int = Field(default=120, description="Help-center searches.")
    verify_per_minute: int = Field(default=30, description="'Is this really Qianbao?' checks.")


class BankSettings(BaseModel):
    """Bank rails (``QIANBAO_BANK__*``): bank-transfer top-ups, statement import and the
    suspense queue (docs/operator.md, "Money between the bank and the ledger")."""

    inbox_dir: Path = Field(
        default=Path("var/bank/inbox"),
        description="The watched folder: statement files put here are imported by the worker "
        "and moved to done/ (or failed/, with a .txt saying why).",
    )
    watch_interval_s: float = Field(
        default=60.0, description="How often the worker looks into inbox_dir (0: never)."
    )
    four_eyes_above: str = Field(
        default="10000.00",
        description="A suspense item above this amount is matched or booked only once a second "
        "operator approves.",
    )
    max_file_mb: int = Field(default=200, description="Larger statement files are refused.")
