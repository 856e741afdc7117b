"""Messages to chat accounts: queued in the writing transaction (``im_outbound``, once per key),
sent by the worker's standalone task ``support.im_send`` without holding a database connection
across HTTP (claim with SKIP LOCKED and a lease, send, record) — never from a request.

What reaches the chat account of a conversation: the bot's answers (with the articles' links
and how to reach a person), the desk's system messages (queued, ticket, assigned, closed ...)
and the agents' replies signed with their name and agent ID."""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta
from typing import Any

from qianbao.kernel.clock import Clock, clock_of
from qianbao.kernel.logging import get_logger
from qianbao.support.im import repository as repo
from qianbao.support.im.backends import Backend, Outgoing, SendFailed, backend_of
from qianbao.support.im.texts import say

log = get_logger(__name__)
BATCH = 50
LEASE_S = 60
BACKOFF_S = (5, 30, 120, 600, 1800)
MAX_TEXT = 2000  # WeChat's custom/send text limit is 2048 bytes of content


async def queue(
    s: Any,
    *,
    channel: str,
    peer_id: str,
    body: str,
    key: str,
    conversation_id: uuid.UUID | None = None,
) -> None:
    now = clock_of(s).now()
    await repo.queue(
        s,
        {
            "channel": channel,
            "peer_id": peer_id,
            "body": body[:MAX_TEXT],
            "dedup_key": key[:200],
            "conversation_id": conversation_id,
            "next_at": now,
            "created_at": now,
        },
    )


_RELATIVE = re.compile(r"(^|[\s(（:：])(/[A-Za-z][^\s，。；、）)]*)", re.MULTILINE)


def absolute_links(text: str, site_url: str) -> str:
    """The site's own links in a text ('/help/…', '/wallet/topup/…') made absolute: a chat app
    cannot open a path."""
    base = site_url.rstrip("/")

    def one(m: re.Match[str]) -> str:
        path = m.group(2).rstrip(".,;:!?")
        return m.group(1) + base + path + m.group(2)[len(path) :]

    return _RELATIVE.sub(one, text)


def render(msg: Any, locale: str, channel: str, site_url: str) -> str:
    """A chat message as plain text for a chat account: the bot's articles as links."""
    lines = [absolute_links(msg.body, site_url)] if msg.body else []
    data = msg.data or {}
    for article in data.get("articles") or []:
        url = str(article.get("url") or "")
        if url.startswith("/"):
            url = site_url.rstrip("/") + url
        lines.append(f"• {article.get('title', '')} {url}".rstrip())
    if data.get("handoff"):
        lines.append(say(f"handoff_hint_{channel}", locale))
    return "\n".join(line for line in lines if line)


async def relay(s: Any, conv: Any, msg: Any, site_url: str, *, text: str | None = None) -> None:
    """Send a conversation's message to the chat accounts it talks to (none for web chats)."""
    if getattr(conv, "channel", "web") == "web":
        return
    for peer in await repo.peers_of(s, conv.id):
        await queue(
            s,
            channel=peer.channel,
            peer_id=peer.peer_id,
            body=text if text is not None else render(msg, conv.locale, peer.channel, site_url),
            key=f"msg:{msg.id}:{peer.channel}",
            conversation_id=conv.id,
        )


async def relay_agent_reply(s: Any, conv: Any, msg: Any, agent: Any) -> None:
    """An agent's reply, signed with the name and agent ID /verify knows."""
    if getattr(conv, "channel", "web") == "web":
        return
    from qianbao.support.chat.desk import card_of

    card = await card_of(s, agent, conv.locale)
    text = say("agent_says", conv.locale, name=card.name, agent_id=card.agent_id, text=msg.body)
    await relay(s, conv, msg, "", text=text)


# -- the worker's side ---------------------------------------------------------------------------
def _retry_at(attempt: int, now: datetime) -> datetime:
    return now + timedelta(seconds=BACKOFF_S[min(attempt - 1, len(BACKOFF_S) - 1)])


async def send_due(db: Any, settings: Any, clock: Clock, *, backend: Backend | None = None) -> int:
    """One round: claim due messages (short transaction), send them, record the results
    (another short transaction). Returns how many were claimed."""
    now = clock.now()
    async with db.transaction() as s:
        rows = await repo.claim_due(s, now, now + timedelta(seconds=LEASE_S), BATCH)
        work = [
            (r.id, r.attempts, Outgoing(r.dedup_key, r.channel, r.peer_id, r.body)) for r in rows
        ]
    if not work:
        return 0
    backend = backend or backend_of(settings, clock)
    results: list[tuple[int, int, SendFailed | None]] = []
    for row_id, attempts, item in work:  # in order: a customer reads them in sequence
        try:
            await backend.send(item)
            results.append((row_id, attempts, None))
        except SendFailed as exc:
            log.warning("im_send_failed", channel=item.channel, reason=exc.reason)
            results.append((row_id, attempts, exc))
    done = clock.now()
    async with db.transaction() as s:
        for row_id, attempts, failed in results:
            tried = attempts + 1
            if failed is None:
                values: dict[str, Any] = {"status": "sent", "sent_at": done, "attempts": tried}
            elif failed.retryable and tried < settings.im.max_attempts:
                values = {
                    "attempts": tried,
                    "next_at": _retry_at(tried, done),
                    "error": failed.reason,
                }
            else:
                values = {"status": "failed", "attempts": tried, "error": failed.reason}
            values["locked_until"] = None
            await repo.mark(s, row_id, values)
    return len(work)


async def sent_to(s: Any, conversation_id: uuid.UUID) -> list[Any]:
    """What was queued for a conversation's chat accounts (tests, the console)."""
    return list(await repo.outbound_of(s, conversation_id))
