"""The in-app message a customer gets when an agent sends a help article. The notification
templates live in ``qianbao.notifications.templates``; this one is registered from here (the
console's own code path) so the inbox can render it. It has no placeholder: the article opens
from the message's link in the reader's language."""

from __future__ import annotations

from qianbao.kernel.i18n import N_
from qianbao.notifications import templates

ARTICLE_TEMPLATE = "support.article_sent"

templates.TEMPLATES.setdefault(
    ARTICLE_TEMPLATE,
    templates.Template(
        ARTICLE_TEMPLATE,
        sms=N_("Customer service sent you a help article. Open this message to read it."),
        subject=N_("A help article from Qianbao customer service"),
        body=N_(
            "Our customer service sent you a help article about your question. Open it from the "
            "message in your Qianbao inbox."
        ),
    ),
)
