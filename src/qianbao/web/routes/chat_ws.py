"""The live chat over WebSocket: /ws/chat for customers and visitors, /ws/console/chat for
agents. Identity comes from the wallet session cookie (or the signed visitor cookie), never from
a frame; the Origin must be this site. Frames are small JSON objects.

Client → server: {"type": "message", "text"}, {"type": "typing"}, {"type": "read", "upto"},
{"type": "handoff"} (customers), {"type": "close"} (agents), {"type": "sync", "since"}.
Server → client: {"type": "messages", "messages": [...]}, {"type": "conversation", ...},
{"type": "typing", "by"}, {"type": "read", "by", "upto"}, {"type": "assigned", "conversation"}
(agents), {"type": "error", "code", "title"}.

Each write is its own transaction and announces itself with NOTIFY; every process's hub hands
the notification to its sockets, which read what is new from the database. A socket may send
FRAME_BURST frames at once and FRAMES_PER_S after (more get one "chat.too_fast" error and are
dropped; MAX_REFUSED in a row close it); typing notices are relayed at most every 2 s; the
customers' messages are also limited per conversation and minute by the service."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from qianbao.identity import sessions
from qianbao.identity.models import User
from qianbao.kernel.errors import DomainError
from qianbao.kernel.logging import get_logger
from qianbao.support.chat import desk, hub, service, visitor
from qianbao.support.chat.errors import AgentsOnly, TooFast
from qianbao.support.chat.service import Config, Customer
from qianbao.support.chat.views import Viewer
from qianbao.web.i18n import LOCALES, gettext, negotiate

router = APIRouter(include_in_schema=False)
log = get_logger(__name__)
MAX_FRAME = 8_000
POLICY_VIOLATION = 1008
FRAMES_PER_S = 5.0  # a socket's frames, after a burst of FRAME_BURST
FRAME_BURST = 20
MAX_REFUSED = 200  # frames refused in a row before the socket is closed
TYPING_EVERY_S = 2.0  # typing notices relayed at most this often per socket


class Pace:
    """A token bucket: ``burst`` frames at once, then ``rate`` per second."""

    def __init__(self, rate: float = FRAMES_PER_S, burst: int = FRAME_BURST) -> None:
        self.rate, self.burst = rate, float(burst)
        self.tokens, self.at = float(burst), time.monotonic()

    def allow(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


def _int(value: Any) -> int:
    """A message id from a frame; anything else is 0."""
    try:
        return min(max(0, int(value)), 2**62)
    except (TypeError, ValueError):
        return 0


def origin_ok(ws: WebSocket) -> bool:
    """Only pages of this site may open a chat socket (cookies ride along cross-site)."""
    origin = ws.headers.get("origin")
    if not origin:
        return False
    netloc = urlsplit(origin).netloc
    allowed = {ws.headers.get("host", "")}
    public_url = ws.app.state.settings.http.public_url
    if public_url:  # behind a proxy that rewrites Host: the address people use
        allowed.add(urlsplit(public_url).netloc)
    allowed.discard("")
    return netloc in allowed


def _locale(ws: WebSocket) -> str:
    """The language of the page that opened the socket (its ``?lang=``; a handshake's
    Accept-Language may differ from the page's), else as for any request."""
    settings = ws.app.state.settings
    shown = ws.query_params.get("lang")
    if shown in LOCALES:
        return shown
    return negotiate(
        ws.cookies.get(settings.i18n.locale_cookie),
        ws.headers.get("accept-language"),
        settings.i18n.default_locale,
    )


async def _user(ws: WebSocket) -> User | None:
    token = ws.cookies.get(ws.app.state.settings.security.session_cookie)
    if not token:
        return None
    async with ws.app.state.db.transaction() as s:
        found = await sessions.resolve(s, ws.app.state.identity, token, kinds=("web",))
    return found[1] if found else None


class Socket:
    """One connected browser: what it has seen, and the channels it listens to."""

    def __init__(self, ws: WebSocket, *, side: str, locale: str) -> None:
        self.ws, self.side, self.locale = ws, side, locale
        self.db = ws.app.state.db
        self.hub: hub.ChatHub = ws.app.state.chat_hub
        self.cfg = Config.of(ws.app.state.settings, ws.app.state.identity.clock)
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=1000)
        self.channels: set[str] = set()
        self.conversation_id: uuid.UUID | None = None
        self.last_id = 0
        self.lock = asyncio.Lock()
        self.pace = Pace()
        self.refused = 0
        self.typed_at = 0.0

    def typing_due(self) -> bool:
        """Typing notices are hints: relayed at most every TYPING_EVERY_S, the rest dropped."""
        now = time.monotonic()
        if now - self.typed_at < TYPING_EVERY_S:
            return False
        self.typed_at = now
        return True

    async def send(self, frame: dict[str, Any]) -> None:
        await self.ws.send_text(json.dumps(frame, ensure_ascii=False, separators=(",", ":")))

    async def listen(self, *channels: str) -> None:
        new = [c for c in channels if c not in self.channels]
        if new:
            await self.hub.add(self.queue, *new)
            self.channels.update(new)

    async def leave_all(self) -> None:
        await self.hub.remove(self.queue, *self.channels)
        self.channels.clear()

    async def follow(self, conversation_id: uuid.UUID) -> None:
        """Listen to a conversation (a customer follows only one at a time)."""
        if self.conversation_id == conversation_id:
            return
        if self.conversation_id is not None:
            old = hub.conversation_channel(self.conversation_id)
            await self.hub.remove(self.queue, old)
            self.channels.discard(old)
        self.conversation_id, self.last_id = conversation_id, 0
        await self.listen(hub.conversation_channel(conversation_id))

    async def load(self, s: Any) -> Any:
        raise NotImplementedError

    async def sync(self, *, with_state: bool = False) -> None:
        """Send the messages after the last one sent (and the conversation's state)."""
        if self.conversation_id is None:
            return
        async with self.lock, self.db.transaction() as s:
            conv = await self.load(s)
            viewer = Viewer(s, side=self.side, locale=self.locale)
            msgs = await service.since(s, conv, self.last_id)
            if msgs:
                self.last_id = msgs[-1].id
                await self.send({"type": "messages", "messages": await viewer.messages(conv, msgs)})
            if with_state:
                await self.send(
                    {"type": "conversation", "conversation": await viewer.conversation(conv)}
                )

    async def refuse(self, exc: DomainError) -> None:
        title = gettext(self.locale, exc.message, **exc.params)
        await self.send({"type": "error", "code": exc.code, "title": title})

    async def on_event(self, event: dict[str, Any]) -> None:
        kind = event.get("t")
        if kind == "m":
            await self.sync()
        elif kind in ("s", "resync"):
            await self.sync(with_state=True)
        elif kind == "ty" and event.get("by") != self.side:
            await self.send({"type": "typing", "by": event.get("by")})
        elif kind == "r" and event.get("by") != self.side:
            await self.send({"type": "read", "by": event.get("by"), "upto": event.get("upto")})
        elif kind == "a":
            await self.send({"type": "assigned", "conversation": event.get("c")})

    async def pump(self) -> None:
        while True:
            event = await self.queue.get()
            try:
                await self.on_event(event)
            except DomainError:
                continue  # e.g. the conversation was handed to someone else

    async def handle(self, frame: dict[str, Any]) -> None:
        raise NotImplementedError

    async def run(self) -> None:
        pump = asyncio.create_task(self.pump())
        try:
            while True:
                raw = await self.ws.receive_text()
                if len(raw) > MAX_FRAME:
                    await self.ws.close(code=1009)
                    return
                try:
                    frame = json.loads(raw)
                except ValueError:
                    continue
                if not isinstance(frame, dict):
                    continue
                if not self.pace.allow():
                    self.refused += 1
                    if self.refused == 1:
                        await self.refuse(TooFast())
                    if self.refused >= MAX_REFUSED:
                        await self.ws.close(code=POLICY_VIOLATION)
                        return
                    continue
                self.refused = 0
                try:
                    await self.handle(frame)
                except DomainError as exc:
                    await self.refuse(exc)
        except WebSocketDisconnect:
            pass
        finally:
            pump.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await pump
            await self.leave_all()


class CustomerSocket(Socket):
    def __init__(self, ws: WebSocket, who: Customer) -> None:
        super().__init__(ws, side="customer", locale=who.locale)
        self.who = who

    async def load(self, s: Any) -> Any:
        assert self.conversation_id is not None
        return await service.owned(s, self.who, self.conversation_id)

    async def start(self) -> None:
        async with self.db.transaction() as s:
            conv = await service.current(s, self.who)
        if conv is not None:
            await self.follow(conv.id)
            await self.sync(with_state=True)

    async def handle(self, frame: dict[str, Any]) -> None:
        kind = frame.get("type")
        if kind == "message":
            async with self.db.transaction() as s:
                conv, _ = await service.post_message(
                    s, self.cfg, self.who, str(frame.get("text", ""))
                )
            await self.follow(conv.id)
            await self.sync(with_state=True)
        elif kind == "sync":
            if self.conversation_id is not None:
                self.last_id = max(0, _int(frame.get("since")))
            await self.sync(with_state=True)
        elif self.conversation_id is None:
            return
        elif kind == "handoff":
            async with self.db.transaction() as s:
                conv = await service.owned(s, self.who, self.conversation_id, lock=True)
                await desk.handoff(s, self.cfg, conv)
            await self.sync(with_state=True)
        elif kind == "typing":
            if self.typing_due():
                async with self.db.transaction() as s:
                    await service.typing(s, await self.load(s), by="customer")
        elif kind == "read":
            async with self.db.transaction() as s:
                conv = await self.load(s)
                await service.mark_read(
                    s, self.cfg, conv, by="customer", upto=_int(frame.get("upto"))
                )


class AgentSocket(Socket):
    def __init__(self, ws: WebSocket, user: User, locale: str) -> None:
        super().__init__(ws, side="agent", locale=locale)
        self.user = user

    async def load(self, s: Any) -> Any:
        assert self.conversation_id is not None
        return await desk.conversation_for_agent(s, self.user, self.conversation_id)

    async def heartbeat(self) -> None:
        """While the console is open, the agent is present: a sign of life three times per
        presence window (a closed laptop stops it; the worker then hands the chats on)."""
        every = max(5.0, self.cfg.presence_ttl_s / 3)
        while True:
            with contextlib.suppress(Exception):  # a database hiccup: try again next beat
                async with self.db.transaction() as s:
                    await desk.seen(s, self.user)
            await asyncio.sleep(every)

    async def run(self) -> None:
        beat = asyncio.create_task(self.heartbeat())
        try:
            await super().run()
        finally:
            beat.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await beat

    async def start(self, conversation_id: uuid.UUID | None) -> None:
        await self.listen(hub.agent_channel(self.user.id))
        if conversation_id is not None:
            async with self.db.transaction() as s:
                await desk.conversation_for_agent(s, self.user, conversation_id)
            await self.follow(conversation_id)
            await self.sync(with_state=True)

    async def handle(self, frame: dict[str, Any]) -> None:
        kind = frame.get("type")
        if self.conversation_id is None:
            return
        if kind == "message":
            async with self.db.transaction() as s:
                await desk.reply(
                    s, self.cfg, self.user, self.conversation_id, str(frame.get("text", ""))
                )
            await self.sync()
        elif kind == "close":
            async with self.db.transaction() as s:
                await desk.close(s, self.cfg, self.user, self.conversation_id)
            await self.sync(with_state=True)
        elif kind == "sync":
            self.last_id = max(0, _int(frame.get("since")))
            await self.sync(with_state=True)
        elif kind == "typing":
            if self.typing_due():
                async with self.db.transaction() as s:
                    await service.typing(s, await self.load(s), by="agent")
        elif kind == "read":
            async with self.db.transaction() as s:
                conv = await self.load(s)
                await service.mark_read(s, self.cfg, conv, by="agent", upto=_int(frame.get("upto")))


@router.websocket("/ws/chat")
async def customer_socket(ws: WebSocket) -> None:
    if not origin_ok(ws):
        await ws.close(code=POLICY_VIOLATION)
        return
    locale = _locale(ws)
    user = await _user(ws)
    if user is not None:
        who = Customer(user_id=user.id, visitor_hash=None, locale=locale)
    else:
        secret = ws.app.state.identity.secrets
        token = visitor.token_of(secret, ws.cookies.get(ws.app.state.settings.chat.visitor_cookie))
        if token is None:  # the /chat page sets the visitor cookie first
            await ws.close(code=POLICY_VIOLATION)
            return
        who = Customer(user_id=None, visitor_hash=visitor.visitor_hash(token), locale=locale)
    await ws.accept()
    sock = CustomerSocket(ws, who)
    await sock.start()
    await sock.run()


@router.websocket("/ws/console/chat")
async def agent_socket(ws: WebSocket) -> None:
    if not origin_ok(ws):
        await ws.close(code=POLICY_VIOLATION)
        return
    user = await _user(ws)
    try:
        if user is None:
            raise AgentsOnly()
        desk.check_agent(user)  # staff with two-step verification only
        raw = ws.query_params.get("c")
        conversation_id = uuid.UUID(raw) if raw else None
    except (DomainError, ValueError):
        await ws.close(code=POLICY_VIOLATION)
        return
    await ws.accept()
    sock = AgentSocket(ws, user, _locale(ws))
    try:
        await sock.start(conversation_id)
    except DomainError as exc:
        await sock.refuse(exc)
        await sock.leave_all()
        await ws.close(code=POLICY_VIOLATION)
        return
    await sock.run()
