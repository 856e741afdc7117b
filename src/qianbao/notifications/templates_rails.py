"""The messages of the money rails beyond the card: top-ups by Alipay and WeChat Pay
(``qianbao.wallet.tasks``), bank-transfer top-ups and the operators' safeguarding alert
(``qianbao.banking``)."""

from __future__ import annotations

from qianbao.kernel.i18n import N_
from qianbao.notifications.template_model import Template

RAIL_TEMPLATES = [
    Template(
        "wallet.topup_method_succeeded",
        sms=N_("Qianbao: {amount} paid with {method} added to your wallet. Balance: {balance}."),
        subject=N_("Top-up of {amount} received"),
        body=N_(
            "{amount} paid with {method} is now in your wallet.\n\nBalance after: {balance}\n"
            "Reference number: {reference}"
        ),
        translate_params=("method",),
    ),
    Template(
        "wallet.topup_method_failed",
        sms=N_("Qianbao: your top-up of {amount} with {method} failed: {reason}."),
        subject=N_("Your top-up of {amount} failed"),
        body=N_(
            "Your top-up of {amount} with {method} failed: {reason}.\n\n"
            "Nothing was added to your wallet. Reference number: {reference}"
        ),
        translate_params=("method", "reason"),
    ),
    Template(
        "wallet.bank_transfer_received",
        sms=N_("Qianbao: your bank transfer of {amount} is in your wallet. Balance: {balance}."),
        subject=N_("Bank transfer of {amount} received"),
        body=N_(
            "Your bank transfer of {amount} has arrived and is now in your wallet.\n\n"
            "Balance after: {balance}\nReference number: {reference}"
        ),
    ),
    Template(
        "bank.safeguarding_alert",
        sms=N_(
            "Qianbao: the safeguarding report of {day} has an unexplained difference of {amount}."
        ),
        subject=N_("Safeguarding: unexplained difference of {amount} on {day}"),
        body=N_(
            "The safeguarding report of {day} ({currency}) does not balance: the banks' "
            "statements and the ledger differ by {amount} that no line explains. Check the "
            "statements imported and the suspense queue at /ops/bank."
        ),
    ),
]
