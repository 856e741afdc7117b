"""The messages of cash agents (B5, ``qianbao.merchants.agents``): a request waiting for the
customer's PIN."""

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
]
