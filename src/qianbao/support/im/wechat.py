"""The WeChat Official Account push protocol, plaintext mode (公众号 "消息加解密方式：明文模式").

- Server verification and every push carry ``signature``, ``timestamp`` and ``nonce`` in the
  query: ``signature = sha1(''.join(sorted([token, timestamp, nonce])))`` (hex). The GET
  verification echoes ``echostr``.
- A push is XML: ``ToUserName`` (our account), ``FromUserName`` (the sender's openid),
  ``CreateTime``, ``MsgType`` (text, image, voice, event, ...), ``Content`` and ``MsgId`` for
  text; ``Event`` (subscribe, unsubscribe, ...) for events. It is parsed with defusedxml:
  a DTD, an entity or an external reference is refused, not expanded.
- WeChat waits 5 s for the answer and retries three times: we answer ``success`` at once and
  reply through the customer-service message API (``cgi-bin/message/custom/send``).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from qianbao.support.im.errors import PushInvalid, PushRefused

MAX_TEXT = 2000


def signature(token: str, timestamp: str, nonce: str) -> str:
    return hashlib.sha1("".join(sorted([token, timestamp, nonce])).encode()).hexdigest()  # noqa: S324 (the platform's scheme)


def check(
    token: str,
    *,
    signature_sent: str | None,
    timestamp: str | None,
    nonce: str | None,
    now: datetime,
    max_age_s: int,
) -> None:
    """Refuse a push whose signature is missing or wrong, or whose timestamp is stale."""
    if not signature_sent or not timestamp or not nonce or not timestamp.isdigit():
        raise PushRefused()
    expected = signature(token, timestamp, nonce)
    if not hmac.compare_digest(expected, signature_sent.lower()):
        raise PushRefused()
    if abs(now.timestamp() - int(timestamp)) > max_age_s:
        raise PushRefused()


@dataclass(frozen=True)
class Push:
    to_user: str
    from_user: str  # the sender's openid
    create_time: str
    msg_type: str
    content: str | None = None
    msg_id: str | None = None
    event: str | None = None
    event_key: str | None = None

    @property
    def dedup_id(self) -> str:
        """MsgId for messages; events have none: the sender and the time."""
        return self.msg_id or f"{self.from_user}:{self.create_time}:{self.event or self.msg_type}"


def parse(body: bytes) -> Push:
    try:
        root = fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (DefusedXmlException, SyntaxError, ValueError):
        raise PushInvalid() from None
    if root.tag != "xml":
        raise PushInvalid()

    def field(name: str) -> str | None:
        node = root.find(name)
        return node.text if node is not None and node.text is not None else None

    sender, msg_type = field("FromUserName"), field("MsgType")
    if not sender or not msg_type or len(sender) > 128:
        raise PushInvalid()
    return Push(
        to_user=field("ToUserName") or "",
        from_user=sender,
        create_time=field("CreateTime") or "",
        msg_type=msg_type,
        content=(field("Content") or "")[: MAX_TEXT * 2] if msg_type == "text" else None,
        msg_id=field("MsgId"),
        event=(field("Event") or "").lower() or None,
        event_key=field("EventKey"),
    )


def token_url(base: str, app_id: str, secret: str) -> tuple[str, dict[str, str]]:
    """``GET /cgi-bin/token?grant_type=client_credential&appid=..&secret=..``:
    ``{"access_token": ..., "expires_in": 7200}``."""
    return (
        f"{base.rstrip('/')}/cgi-bin/token",
        {"grant_type": "client_credential", "appid": app_id, "secret": secret},
    )


def custom_send(openid: str, text: str) -> dict[str, object]:
    """The body of ``POST /cgi-bin/message/custom/send?access_token=..`` for a text."""
    return {"touser": openid, "msgtype": "text", "text": {"content": text}}
