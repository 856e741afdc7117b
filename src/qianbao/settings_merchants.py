"""Settings groups for merchants and outbound webhooks (``QIANBAO_MERCHANTS__*``,
``QIANBAO_WEBHOOKS__*``). Part of :mod:`qianbao.settings`, which assembles every group."""

from __future__ import annotations

from pydantic import BaseModel, Field

from qianbao.settings_money import FeeRule


class AgentSettings(BaseModel):
    """Cash agents (B5): cash in and cash out at a shop, confirmed by the customer's PIN."""

    cash_out_id_check_above: str = Field(
        default="2000.00",
        description="A cash-out above this amount (CNY) needs a customer verified at tier 2 "
        "and the agent's check of the ID card.",
    )
    commission_in: str = Field(
        default="0.3", description="A new agent's commission on a cash-in, percent."
    )
    commission_out: str = Field(
        default="0.5", description="A new agent's commission on a cash-out, percent."
    )
    request_minutes: int = Field(
        default=10, ge=1, le=60, description="How long a customer has to confirm a request."
    )
    nearest_limit: int = Field(default=10, ge=1, le=50, description="Points listed at most.")


class MerchantsSettings(BaseModel):
    fee_plan: dict[str, FeeRule] = Field(
        default_factory=lambda: {
            "checkout": FeeRule(percent="0.6", minimum="0.01"),
            "qr": FeeRule(percent="0.38", minimum="0.01"),
            "payment_code": FeeRule(percent="0.38", minimum="0.01"),
        },
        description="The default merchant discount per payment method (checkout, qr, "
        "payment_code), given to a merchant when it is activated; an operator may set another "
        "plan per merchant. Amounts in the payment's currency.",
    )
    agents: AgentSettings = Field(default_factory=AgentSettings)
    checkout_expiry_minutes: int = Field(
        default=30, ge=1, le=24 * 60, description="A checkout session's life when none is given."
    )
    checkout_max_expiry_minutes: int = Field(default=24 * 60, ge=1)
    return_urls_may_be_http: bool = Field(
        default=False,
        description="Accept http:// success and cancel URLs (development: `make run` turns it "
        "on). Off, only https:// is accepted.",
    )
    payment_code_seconds: int = Field(
        default=60, ge=15, le=600, description="A payment code changes (and expires) this often."
    )
    payment_code_no_pin_default: str = Field(
        default="200.00",
        description="Till payments up to this amount (CNY) go through without the PIN, until the "
        "customer sets another limit (0 turns it off).",
    )
    payment_code_no_pin_max: str = Field(default="2000.00")
    payment_code_confirm_minutes: int = Field(
        default=5, ge=1, le=60, description="How long a till payment waits for the customer's PIN."
    )
    payment_code_guesses_per_minute: int = Field(
        default=20,
        ge=1,
        description="Unknown or expired payment codes a merchant may present per minute before "
        "its till is refused for a minute (guessing codes must be hopeless).",
    )
    settlement_delay_business_days: int = Field(
        default=1,
        ge=0,
        le=10,
        description="T+N: a day's payments are paid out N business days later.",
    )
    settlement_interval_s: float = Field(default=600.0, description="How often settlement runs.")
    key_rotation_overlap_hours: int = Field(
        default=24, ge=0, le=24 * 30, description="A rotated API key keeps working this long."
    )


class WebhooksSettings(BaseModel):
    allow_private_targets: bool = Field(
        default=False,
        description="Deliver to endpoints that resolve to private, loopback or link-local "
        "addresses. Off by default (SSRF); `make run` turns it on for the demo shop.",
    )
    timeout_s: float = Field(default=10.0, gt=0, le=60, description="Per delivery attempt.")
    retry_schedule_s: list[int] = Field(
        default_factory=lambda: [5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 72000],
        description="Waits between attempts after the first (about three days in all).",
    )
    dispatch_interval_s: float = Field(default=1.0, gt=0)
    batch_size: int = Field(default=50, ge=1, le=1000)
    concurrency: int = Field(default=16, ge=1, le=256, description="Deliveries in flight at once.")
