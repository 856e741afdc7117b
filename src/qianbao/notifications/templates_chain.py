"""The messages of USDT on chains (``qianbao.wallet.chain_tasks``): a deposit credited, a
withdrawal complete or failed (in the template list of ``notifications.templates``)."""

from __future__ import annotations

from qianbao.kernel.i18n import N_
from qianbao.notifications.template_model import Template

CHAIN_TEMPLATES = [
    Template(
        "chain.deposit_credited",
        sms=N_(
            "Qianbao: your deposit of {amount} on {network} is in your wallet. Balance: {balance}."
        ),
        subject=N_("Deposit of {amount} received"),
        body=N_(
            "Your deposit of {amount} on {network} has its confirmations and is now in your "
            "wallet.\n\nBalance after: {balance}\nTransaction hash: {txid}\n"
            "Reference number: {reference}"
        ),
    ),
    Template(
        "chain.withdrawal_completed",
        sms=N_("Qianbao: your withdrawal of {amount} on {network} is confirmed (fee {fee})."),
        subject=N_("Withdrawal of {amount} confirmed"),
        body=N_(
            "Your withdrawal of {amount} to {address} on {network} is confirmed on the chain. "
            "Fee: {fee}.\n\nTransaction hash: {txid}\nReference number: {reference}"
        ),
    ),
    Template(
        "chain.withdrawal_failed",
        sms=N_(
            "Qianbao: your withdrawal of {amount} on {network} failed: {reason} The money and "
            "the fee are back in your wallet."
        ),
        subject=N_("Your withdrawal of {amount} failed"),
        body=N_(
            "Your withdrawal of {amount} to {address} on {network} failed: {reason}\n\n"
            "The amount and the fee are available in your wallet again. "
            "Reference number: {reference}"
        ),
        translate_params=("reason",),
    ),
]
