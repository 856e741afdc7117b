"""The messages of cash agents (B5, ``qianbao.merchants.agents``): a request waiting for the
customer's PIN, and the cash-in or cash-out done."""

from __future__ import annotations

from qianbao.kernel.i18n import N_
from qianbao.notifications.template_model import Template

AGENT_TEMPLATES = [
    Template(
        "cash.requested_in",
        sms=N_(
            "Qianbao: {agent} asks you to confirm a cash-in of {amount}. Confirm in the app only "
            "at the counter, after you handed over the cash."
        ),
        subject=N_("Confirm a cash-in of {amount} at {agent}"),
        body=N_(
            "{agent} asks you to confirm a cash-in of {amount}: the money arrives in your wallet "
            "when you confirm with your payment PIN.\n\nConfirm only at the counter, after you "
            "handed over the cash. If you are not at a cash point, decline it."
        ),
    ),
    Template(
        "cash.requested_out",
        sms=N_(
            "Qianbao: {agent} asks you to confirm a cash-out of {amount}. Confirm in the app only "
            "at the counter."
        ),
        subject=N_("Confirm a cash-out of {amount} at {agent}"),
        body=N_(
            "{agent} asks you to confirm a cash-out of {amount}: the money leaves your wallet "
            "when you confirm with your payment PIN, and the agent hands you the cash.\n\n"
            "Confirm only at the counter. If you are not at a cash point, decline it: someone "
            "may be trying to take your money."
        ),
    ),
    Template(
        "cash.completed_in",
        sms=N_("Qianbao: {amount} cashed in at {agent} is in your wallet. Balance: {balance}."),
        subject=N_("{amount} cashed in at {agent}"),
        body=N_(
            "You cashed in {amount} at {agent}: the money is in your wallet. Your balance is "
            "{balance}."
        ),
    ),
    Template(
        "cash.completed_out",
        sms=N_("Qianbao: you cashed out {amount} at {agent}. Balance: {balance}."),
        subject=N_("{amount} cashed out at {agent}"),
        body=N_(
            "You cashed out {amount} at {agent}: the money left your wallet. Your balance is "
            "{balance}. If this was not you, freeze your account at once and contact us."
        ),
    ),
]
