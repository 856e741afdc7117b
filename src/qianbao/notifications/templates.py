"""Message templates: what we say by SMS and e-mail, in English msgids marked with ``N_``.

Each template has an SMS text, an e-mail subject and an e-mail body; placeholders are
``{name}`` (``{code}``, ``{minutes}``, ``{device}``). ``render`` translates with the kernel's
catalogs (src/qianbao/locale); a test checks that every msgid has its Chinese translation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from qianbao.kernel.i18n import N_
from qianbao.kernel.translations import gettext
from qianbao.notifications.template_model import CHANNELS, Channel, Template
from qianbao.notifications.templates_agents import AGENT_TEMPLATES
from qianbao.notifications.templates_budgets import BUDGET_TEMPLATES
from qianbao.notifications.templates_chain import CHAIN_TEMPLATES
from qianbao.notifications.templates_disputes import DISPUTE_TEMPLATES
from qianbao.notifications.templates_kyc import KYC_TEMPLATES
from qianbao.notifications.templates_merchants import MERCHANT_TEMPLATES
from qianbao.notifications.templates_rails import RAIL_TEMPLATES


class _Values(dict[str, str]):
    """Fill values; a placeholder a translation got wrong stays visible instead of crashing."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


@dataclass(frozen=True)
class RenderedMessage:
    subject: str | None  # None for SMS
    text: str


EMAIL_FOOTER = N_(
    "This is an automatic message from Qianbao. Please do not reply to it. "
    "Qianbao staff will never ask you for a code, your password or your payment PIN."
)

_OTP_EMAIL_BODY = N_(
    "Your code is {code}. It expires in {minutes} minutes.\n\n"
    "If you did not ask for this code, ignore this message and consider changing your password."
)


def _otp(name: str, sms: str, subject: str) -> Template:
    return Template(name, sms=sms, subject=subject, body=_OTP_EMAIL_BODY)


_ALL = [
    # One-time codes
    _otp(
        "otp.sign_up",
        N_(
            "Your Qianbao sign-up code is {code}. It expires in {minutes} minutes. "
            "Never share it with anyone, including our staff."
        ),
        N_("Your Qianbao sign-up code"),
    ),
    _otp(
        "otp.login",
        N_(
            "Your Qianbao sign-in code is {code}. It expires in {minutes} minutes. "
            "Never share it with anyone, including our staff."
        ),
        N_("Your Qianbao sign-in code"),
    ),
    _otp(
        "otp.reset_password",
        N_(
            "Your Qianbao password reset code is {code}. It expires in {minutes} minutes. "
            "If you did not ask to reset your password, ignore this message."
        ),
        N_("Reset your Qianbao password"),
    ),
    _otp(
        "otp.verify_email",
        N_("Your Qianbao e-mail verification code is {code}. It expires in {minutes} minutes."),
        N_("Confirm your e-mail address for Qianbao"),
    ),
    _otp(
        "otp.change_phone",
        N_(
            "Your Qianbao code to change your phone number is {code}. It expires in {minutes} "
            "minutes. Never share it with anyone, including our staff."
        ),
        N_("Your code to change your phone number"),
    ),
    _otp(
        "otp.unlock_pin",
        N_(
            "Your Qianbao code to unlock your payment PIN is {code}. It expires in {minutes} "
            "minutes. Never share it with anyone, including our staff."
        ),
        N_("Your code to unlock your payment PIN"),
    ),
    _otp(
        "otp.unfreeze",
        N_(
            "Your Qianbao code to unfreeze your account is {code}. It expires in {minutes} "
            "minutes. Never share it with anyone, including our staff."
        ),
        N_("Your code to unfreeze your Qianbao account"),
    ),
    _otp(
        "otp.bind_card",
        N_(
            "Your Qianbao code to add a bank card is {code}. It expires in {minutes} minutes. "
            "Never share it with anyone, including our staff."
        ),
        N_("Your code to add a bank card"),
    ),
    _otp(
        "otp.withdraw",
        N_(
            "Your Qianbao code to withdraw {amount} is {code}. It expires in {minutes} minutes. "
            "Never share it with anyone, including our staff."
        ),
        N_("Your code to confirm a withdrawal"),
    ),
    _otp(
        "otp.pay_step_up",
        N_(
            "Qianbao: your code to send {amount} to {payee} is {code}. It works only for this "
            "payment and expires in {minutes} minutes. If you are not sending it, do not enter "
            "the code: someone may be using your account."
        ),
        N_("Your code to confirm a payment"),
    ),
    _otp(
        "otp.confirm_hold",
        N_(
            "Qianbao: was this you? We held a payment of {amount} to {payee}. If it was you, "
            "answer Yes in the app with code {code} (valid {minutes} minutes). If not, answer No "
            "in the app: we cancel it and freeze your account. Never share this code."
        ),
        N_("Was this you? A payment of {amount} is on hold"),
    ),
    # Money movements
    Template(
        "wallet.money_out",
        sms=N_("Qianbao: you sent {amount} to {who}. Balance: {balance}. Reference {reference}."),
        subject=N_("You sent {amount}"),
        body=N_(
            "You sent {amount} to {who}.\n\nBalance after: {balance}\n"
            "Reference number: {reference}\n\n"
            "If you did not do this, freeze your account at once and contact customer service."
        ),
    ),
    Template(
        "wallet.money_in",
        sms=N_(
            "Qianbao: you received {amount} from {who}. Balance: {balance}. Reference {reference}."
        ),
        subject=N_("You received {amount}"),
        body=N_(
            "You received {amount} from {who}.\n\nBalance after: {balance}\n"
            "Reference number: {reference}"
        ),
    ),
    Template(
        "wallet.payment_made",
        sms=N_("Qianbao: you paid {amount} to {who}. Balance: {balance}. Reference {reference}."),
        subject=N_("You paid {amount} to {who}"),
        body=N_(
            "You paid {amount} to {who}.\n\nBalance after: {balance}\nReference number: {reference}"
        ),
    ),
    Template(
        "wallet.refund_received",
        sms=N_("Qianbao: {who} refunded {amount} to your wallet. Balance: {balance}."),
        subject=N_("{who} refunded {amount}"),
        body=N_(
            "{who} refunded {amount} to your wallet.\n\nBalance after: {balance}\n"
            "Reference number: {reference}"
        ),
    ),
    Template(
        "wallet.topup_succeeded",
        sms=N_("Qianbao: {amount} from card {card} added to your wallet. Balance: {balance}."),
        subject=N_("Top-up of {amount} received"),
        body=N_(
            "{amount} from your card {card} is now in your wallet.\n\nBalance after: {balance}\n"
            "Reference number: {reference}"
        ),
    ),
    Template(
        "wallet.topup_failed",
        sms=N_("Qianbao: your top-up of {amount} from card {card} failed: {reason}."),
        subject=N_("Your top-up of {amount} failed"),
        body=N_(
            "Your top-up of {amount} from card {card} failed: {reason}.\n\n"
            "Nothing was added to your wallet. Reference number: {reference}"
        ),
        translate_params=("reason",),
    ),
    Template(
        "wallet.withdrawal_settled",
        sms=N_("Qianbao: your withdrawal of {amount} to {card} was paid out (fee {fee})."),
        subject=N_("Withdrawal of {amount} paid out"),
        body=N_(
            "We paid {amount} to your account {card}. Fee: {fee}.\n\nBalance after: {balance}\n"
            "Reference number: {reference}"
        ),
    ),
    Template(
        "wallet.withdrawal_failed",
        sms=N_(
            "Qianbao: your withdrawal of {amount} to {card} failed: {reason} "
            "The money and the fee are back in your wallet."
        ),
        subject=N_("Your withdrawal of {amount} failed"),
        body=N_(
            "Your withdrawal of {amount} to {card} failed: {reason}\n\n"
            "The amount and the fee are available in your wallet again. "
            "Reference number: {reference}"
        ),
        translate_params=("reason",),
    ),
    Template(
        "wallet.withdrawal_rejected",
        sms=N_(
            "Qianbao: your withdrawal of {amount} was not approved: {reason} "
            "The money is available in your wallet again."
        ),
        subject=N_("Your withdrawal of {amount} was not approved"),
        body=N_(
            "Your withdrawal of {amount} to {card} was not approved.\n\nReason: {reason}\n\n"
            "The amount and the fee are available in your wallet again. "
            "Reference number: {reference}"
        ),
        translate_params=("reason",),
    ),
    Template(
        "wallet.withdrawal_returned",
        sms=N_(
            "Qianbao: the bank sent back your withdrawal of {amount} to {card}: {reason} "
            "The amount and the fee are back in your wallet."
        ),
        subject=N_("Your withdrawal of {amount} came back"),
        body=N_(
            "The receiving bank sent back your withdrawal of {amount} to {card}: {reason}\n\n"
            "The amount and the fee are available in your wallet again. "
            "Reference number: {reference}"
        ),
        translate_params=("reason",),
    ),
    # Security alerts
    Template(
        "security.new_device",
        sms=N_(
            "A new device signed in to your Qianbao account: {device}. "
            "If it was not you, freeze your account at once."
        ),
        subject=N_("New sign-in to your Qianbao account"),
        body=N_(
            "A new device signed in to your Qianbao account: {device}.\n\n"
            "If this was you, there is nothing to do. If it was not you, freeze your account at "
            "once in the app or by calling customer service, then change your password."
        ),
    ),
    Template(
        "security.password_changed",
        sms=N_(
            "Your Qianbao password was changed. If you did not do this, "
            "freeze your account at once."
        ),
        subject=N_("Your Qianbao password was changed"),
        body=N_(
            "The password of your Qianbao account was just changed.\n\n"
            "If you did not do this, freeze your account at once and contact customer service."
        ),
    ),
    Template(
        "security.password_reset",
        sms=N_(
            "Your Qianbao password was reset. If you did not do this, freeze your account at once."
        ),
        subject=N_("Your Qianbao password was reset"),
        body=N_(
            "The password of your Qianbao account was reset with a one-time code, and your other "
            "devices were signed out.\n\n"
            "If you did not do this, freeze your account at once and contact customer service."
        ),
    ),
    Template(
        "security.pin_changed",
        sms=N_(
            "Your Qianbao payment PIN was changed. If you did not do this, "
            "freeze your account at once."
        ),
        subject=N_("Your Qianbao payment PIN was changed"),
        body=N_(
            "The payment PIN of your Qianbao account was just changed.\n\n"
            "If you did not do this, freeze your account at once and contact customer service."
        ),
    ),
    Template(
        "security.phone_changed",
        sms=N_(
            "The phone number of your Qianbao account was changed. This number will no longer "
            "receive our messages. If you did not do this, contact customer service at once."
        ),
        subject=N_("The phone number of your Qianbao account was changed"),
        body=N_(
            "The phone number of your Qianbao account was just changed. The old number will no "
            "longer receive codes or alerts.\n\n"
            "If you did not do this, contact customer service at once."
        ),
    ),
    Template(
        "security.account_frozen",
        sms=N_(
            "Your Qianbao account is frozen: no money can leave it until it is unfrozen. "
            "If you did not ask for this, contact customer service."
        ),
        subject=N_("Your Qianbao account is frozen"),
        body=N_(
            "Your Qianbao account is now frozen. Payments, transfers and withdrawals are stopped "
            "until the account is unfrozen; your balance is safe.\n\n"
            "If you did not ask for this, contact customer service."
        ),
    ),
    Template(
        "security.account_unfrozen",
        sms=N_(
            "Your Qianbao account is unfrozen and can be used again. If you did not do this, "
            "freeze it at once and contact customer service."
        ),
        subject=N_("Your Qianbao account is unfrozen"),
        body=N_(
            "Your Qianbao account is unfrozen: payments, transfers and withdrawals work again.\n\n"
            "If you did not do this, freeze your account at once and contact customer service."
        ),
    ),
    Template(
        "security.two_factor_changed",
        sms=N_(
            "The two-step verification settings of your Qianbao account were changed. If you "
            "did not do this, freeze your account at once."
        ),
        subject=N_("Two-step verification was changed on your Qianbao account"),
        body=N_(
            "The two-step verification settings of your Qianbao account were just changed.\n\n"
            "If you did not do this, freeze your account at once and contact customer service."
        ),
    ),
    *MERCHANT_TEMPLATES,
    *RAIL_TEMPLATES,
    *DISPUTE_TEMPLATES,
    *AGENT_TEMPLATES,
    *CHAIN_TEMPLATES,
    *BUDGET_TEMPLATES,
    *KYC_TEMPLATES,
]

TEMPLATES: dict[str, Template] = {t.name: t for t in _ALL}


def get_template(name: str) -> Template:
    try:
        return TEMPLATES[name]
    except KeyError:
        raise ValueError(f"unknown notification template {name!r}") from None


def translate(locale: str, msgid: str) -> str:
    return gettext(locale, msgid)


def render(
    template: str | Template, channel: Channel, locale: str, params: Mapping[str, Any]
) -> RenderedMessage:
    """Fill a template for one channel in one language. Every placeholder must be given."""
    tpl = template if isinstance(template, Template) else get_template(template)
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}")
    missing = tpl.placeholders(channel) - set(params)
    if missing:
        raise ValueError(f"template {tpl.name!r} needs {', '.join(sorted(missing))}")
    values = _Values(
        {
            k: translate(locale, str(v)) if k in tpl.translate_params and v else str(v)
            for k, v in params.items()
        }
    )
    if channel == "sms":
        return RenderedMessage(None, translate(locale, tpl.sms).format_map(values))
    body = translate(locale, tpl.body).format_map(values)
    footer = translate(locale, EMAIL_FOOTER)
    return RenderedMessage(
        translate(locale, tpl.subject).format_map(values), f"{body}\n\n--\n{footer}\n"
    )
