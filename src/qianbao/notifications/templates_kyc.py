"""The messages of identity verification (A8, ``qianbao.identity.kyc_review``): the operator's
decision on a tier 2 application, in the app's inbox and by SMS."""

from __future__ import annotations

from qianbao.kernel.i18n import N_
from qianbao.notifications.template_model import Template

KYC_TEMPLATES = [
    Template(
        "kyc.approved",
        sms=N_(
            "Qianbao: your identity is verified at level 2. Your higher limits apply from now on."
        ),
        subject=N_("Your identity is verified"),
        body=N_(
            "Your documents are approved: your account is verified at level 2 and its higher "
            "limits apply from now on.\n\nSee them in Me → Identity verification."
        ),
    ),
    Template(
        "kyc.rejected",
        sms=N_(
            "Qianbao: your identity verification was not approved: {reason} "
            "Open Me → Identity verification to try again."
        ),
        subject=N_("Your identity verification was not approved"),
        body=N_(
            "We could not approve your documents: {reason}\n\nYou can send new photos in "
            "Me → Identity verification. Your limits stay as they were."
        ),
        translate_params=("reason",),
    ),
    Template(
        "kyc.resubmit",
        sms=N_(
            "Qianbao: to finish your identity verification, send a new photo of {document}: "
            "{reason} Open Me → Identity verification."
        ),
        subject=N_("Send a new photo to finish your identity verification"),
        body=N_(
            "To finish your identity verification we need a new photo of {document}: "
            "{reason}\n\nReplace it in Me → Identity verification, then submit again."
        ),
        translate_params=("document", "reason"),
    ),
]
