"""The messages of real-time risk ("Was this you?", ``qianbao.wallet.held``) and of disputes
(claims, chargebacks, mistaken transfers, ``qianbao.disputes.notices``)."""

from __future__ import annotations

from qianbao.kernel.i18n import N_
from qianbao.notifications.template_model import Template

DISPUTE_TEMPLATES = [
    # Real-time risk (D2)
    Template(
        "risk.hold_asked",
        sms=N_(
            "Was this you? We held your payment of {amount} to {payee}. Answer Yes (with the "
            "code we sent by SMS) or No."
        ),
        subject=N_("Was this you? A payment of {amount} is on hold"),
        body=N_(
            "We held your payment of {amount} to {payee} because it looked unusual.\n\n"
            "If it was you, answer Yes in the app with the code we sent by SMS. If it was not "
            "you, answer No: we cancel it and freeze your account."
        ),
    ),
    Template(
        "risk.hold_expired",
        sms=N_(
            "Qianbao: your held payment of {amount} was cancelled because nobody answered in "
            "time. No money moved; send it again if you still want to."
        ),
        subject=N_("Your held payment of {amount} was cancelled"),
        body=N_(
            "Your held payment of {amount} was cancelled because nobody answered in time. No "
            "money moved; send it again if you still want to."
        ),
    ),
    # Disputes (D4)
    Template(
        "disputes.case_opened",
        sms=N_(
            "Qianbao: your claim {reference} about {amount} is open. We held {held} still in the "
            "recipient's wallet. Follow it in the app; we tell you at every step."
        ),
        subject=N_("Your claim {reference} is open"),
        body=N_(
            "Your claim {reference} about {amount} is open. We held {held} that was still in the "
            "recipient's wallet, so it cannot leave while we investigate.\n\nFollow the case in "
            "the app; we tell you at every step."
        ),
    ),
    Template(
        "disputes.case_refunded",
        sms=N_("Qianbao: claim {reference} is upheld. {refunded} is back in your wallet."),
        subject=N_("Claim {reference}: {refunded} refunded"),
        body=N_("Your claim {reference} is upheld. {refunded} is back in your wallet."),
    ),
    Template(
        "disputes.case_rejected",
        sms=N_(
            "Qianbao: we could not uphold claim {reference}. Read why in the app; you may appeal "
            "once."
        ),
        subject=N_("Claim {reference} was not upheld"),
        body=N_(
            "We could not uphold your claim {reference}. The reason is on the case's page in the "
            "app, where you may appeal once."
        ),
    ),
    Template(
        "disputes.return_asked",
        sms=N_(
            "Qianbao: {who} says the {amount} they sent you was a mistake and asks you to send it "
            "back. Answer in the app: return it with one tap, or tell us it was no mistake."
        ),
        subject=N_("{who} asks you to send back {amount}"),
        body=N_(
            "{who} says the {amount} they sent you was a mistake and asks you to send it back.\n\n"
            "Answer in the app: return it with one tap (with your PIN), or tell us it was no "
            "mistake. Without an answer within a week, our customer service looks into it."
        ),
    ),
    Template(
        "disputes.returned",
        sms=N_("Qianbao: the {amount} you sent by mistake is back in your wallet ({reference})."),
        subject=N_("{amount} is back in your wallet"),
        body=N_("The {amount} you sent by mistake is back in your wallet (case {reference})."),
    ),
    Template(
        "disputes.return_declined",
        sms=N_(
            "Qianbao: the recipient did not send back the {amount} ({reference}). Our customer "
            "service now looks into it; {held} still in their wallet is held."
        ),
        subject=N_("Case {reference}: our customer service looks into it"),
        body=N_(
            "The recipient did not send back the {amount} you sent by mistake (case {reference})."
            "\n\nOur customer service now looks into it; {held} still in their wallet is held."
        ),
    ),
]
