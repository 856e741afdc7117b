"""The messages a merchant's staff receive (``qianbao.merchants.notices``): the operator's
decision on the merchant, payouts, a webhook endpoint switched off."""

from __future__ import annotations

from qianbao.kernel.i18n import N_
from qianbao.notifications.template_model import Template

MERCHANT_TEMPLATES = [
    Template(
        "merchants.status_active",
        sms=N_("Qianbao: {merchant} can take payments now. Sign in to your merchant dashboard."),
        subject=N_("{merchant} can take payments"),
        body=N_(
            "{merchant} is active: it can take payments by QR code and online checkout, and is "
            "paid out to its settlement account.\n\nSign in with your mobile number and "
            "password and open the merchant dashboard."
        ),
    ),
    Template(
        "merchants.status_rejected",
        sms=N_("Qianbao: the merchant application of {merchant} was not approved: {reason}"),
        subject=N_("The application of {merchant} was not approved"),
        body=N_(
            "We could not approve the merchant application of {merchant}.\n\nReason: {reason}"
            "\n\nYou may apply again with the missing or corrected details."
        ),
    ),
    Template(
        "merchants.status_suspended",
        sms=N_("Qianbao: {merchant} cannot take payments for now: {reason}"),
        subject=N_("{merchant} is suspended"),
        body=N_(
            "{merchant} cannot take new payments for now.\n\nReason: {reason}\n\nRefunds and "
            "payouts of what you were paid continue. Contact our support to resolve it."
        ),
    ),
    Template(
        "merchants.status_closed",
        sms=N_("Qianbao: the merchant account of {merchant} is closed."),
        subject=N_("The merchant account of {merchant} is closed"),
        body=N_(
            "The merchant account of {merchant} is closed: it takes no payments.\n\nReason: "
            "{reason}"
        ),
    ),
    Template(
        "merchants.payout_paid",
        sms=N_("Qianbao: settlement of {amount} for {merchant} ({day}) was paid to {account}."),
        subject=N_("Settlement of {amount} paid"),
        body=N_(
            "The settlement of {amount} for {merchant}, covering sales up to {day}, was paid to "
            "the bank account {account}.\n\nThe report and its CSV are on your merchant "
            "dashboard under Settlements."
        ),
    ),
    Template(
        "merchants.payout_failed",
        sms=N_("Qianbao: the settlement of {amount} for {merchant} ({day}) could not be paid."),
        subject=N_("Settlement of {amount} not paid"),
        body=N_(
            "The bank could not pay the settlement of {amount} for {merchant}, covering sales up "
            "to {day}, to {account}: {reason}\n\nThe money stays in your merchant balance and is "
            "paid with the next settlement. Check the settlement bank account with our support."
        ),
    ),
    Template(
        "merchants.webhook_disabled",
        sms=N_("Qianbao: webhooks to {url} for {merchant} were switched off after failing."),
        subject=N_("Webhooks to {url} switched off"),
        body=N_(
            "Deliveries to {url} for {merchant} kept failing, so we switched the endpoint off. "
            "Events are no longer sent there.\n\nFix the endpoint, switch it on again under "
            "Webhooks on your merchant dashboard and send the failed deliveries again."
        ),
    ),
]
