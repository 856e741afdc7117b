"""E-mail a chat transcript to its customer (E7), at their verified address.

It goes through the notifications' e-mail request (the outbox; the ``notifications.deliver`` job
sends it after the request commits, through the configured e-mail backend). The ticket desk's own
mail job only knows tickets, so the chat registers its template here — the way the console
registers ``support.article_sent`` — with the transcript, already masked, as its parameter."""

from __future__ import annotations

from typing import Any

from qianbao.kernel.i18n import N_
from qianbao.notifications import outbox_sealer, request, templates
from qianbao.support.chat import transcript
from qianbao.support.chat.errors import ConversationNotFound, NoEmailAddress
from qianbao.support.chat.models import ChatConversation

TRANSCRIPT_TEMPLATE = "support.chat_transcript"

templates.TEMPLATES.setdefault(
    TRANSCRIPT_TEMPLATE,
    templates.Template(
        TRANSCRIPT_TEMPLATE,
        sms=N_("The transcript of your Qianbao chat was sent to your e-mail address."),
        subject=N_("Transcript of your Qianbao chat of {date}"),
        body=N_("Here is the transcript of your conversation with Qianbao:\n\n{transcript}"),
    ),
)


async def email_transcript(
    s: Any,
    settings: Any,
    user: Any,
    conv: ChatConversation,
    locale: str,
    *,
    site: str | None = None,
) -> str:
    """Ask for the transcript to be sent to the user's verified address; returns the address.
    ``site`` makes the links absolute: the public URL if configured, else the origin of the
    request that asked (``settings.http.site_url(...)``); without it, ``settings.http.base_url``."""
    if conv.user_id != user.id:
        raise ConversationNotFound()
    if not user.email or not user.email_verified_at:
        raise NoEmailAddress()
    text = await transcript.as_text(s, conv, locale, site=site or settings.http.base_url)
    await request(
        s,
        channel="email",
        to=str(user.email),
        template=TRANSCRIPT_TEMPLATE,
        locale=locale,
        params={"date": transcript.stamp(conv.created_at), "transcript": text},
        sealer=outbox_sealer(settings),
    )
    return str(user.email)
