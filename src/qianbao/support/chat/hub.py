"""Fan-out across server processes with PostgreSQL LISTEN/NOTIFY.

Every change a chat side must see (a new message, typing, read marks, a status change) is
announced with ``pg_notify`` on a channel per conversation — inside the writing transaction,
so a rolled-back write announces nothing. The payload holds ids only. Each server process keeps
ONE dedicated asyncpg connection that LISTENs on the channels its own sockets need (reference
counted) and hands every notification to those sockets' queues; the sockets then read what is
new from the database. After the listening connection is lost, it reconnects, listens again and
tells every socket to resynchronise (it may have missed notifications meanwhile)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from sqlalchemy import text

from qianbao.kernel.logging import get_logger

log = get_logger(__name__)
MAX_PAYLOAD = 8000
RECONNECT_S = 1.0
_NOTIFY = text("SELECT pg_notify(:channel, :payload)")


def conversation_channel(conversation_id: uuid.UUID) -> str:
    return f"qb_chat_c_{conversation_id.hex}"


def agent_channel(agent_id: uuid.UUID) -> str:
    return f"qb_chat_a_{agent_id.hex}"


def encode(event: dict[str, Any]) -> str:
    payload = json.dumps(event, separators=(",", ":"))
    if len(payload.encode()) > MAX_PAYLOAD:
        raise ValueError("chat notification payload too large")
    return payload


async def publish(s: Any, channel: str, event: dict[str, Any]) -> None:
    """Announce ``event`` (ids only) on ``channel`` when the session's transaction commits."""
    await s.execute(_NOTIFY, {"channel": channel, "payload": encode(event)})


def _offer(queue: asyncio.Queue[dict[str, Any]], event: dict[str, Any]) -> None:
    """A socket that stopped reading loses events, not the process: it resyncs from the
    database when it reads again (every event only says "look again")."""
    with contextlib.suppress(asyncio.QueueFull):
        queue.put_nowait(event)


class ChatHub:
    """One per process: the LISTEN connection and the local subscribers of each channel."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self._conn: asyncpg.Connection | None = None
        self._queues: dict[str, set[asyncio.Queue[dict[str, Any]]]] = {}
        self._lock = asyncio.Lock()
        self._closing = False
        self._reconnect: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._closing = False
        try:
            await self._connect()
        except (OSError, asyncpg.PostgresError) as exc:
            log.warning("chat_listen_unavailable", error=str(exc))
            self._schedule_reconnect()

    async def stop(self) -> None:
        self._closing = True
        if self._reconnect is not None:
            self._reconnect.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reconnect
        if self._conn is not None:
            with contextlib.suppress(Exception):
                await self._conn.close()
        self._conn = None

    @property
    def listening(self) -> bool:
        return self._conn is not None and not self._conn.is_closed()

    async def _connect(self) -> None:
        conn = await asyncpg.connect(self.dsn)
        conn.add_termination_listener(self._terminated)
        async with self._lock:
            self._conn = conn
            for channel in list(self._queues):
                await conn.add_listener(channel, self._notified)

    def _terminated(self, _conn: Any) -> None:
        self._conn = None
        if not self._closing:
            log.warning("chat_listen_lost")
            self._schedule_reconnect()

    def _schedule_reconnect(self) -> None:
        if self._reconnect is None or self._reconnect.done():
            self._reconnect = asyncio.get_running_loop().create_task(self._reconnect_loop())

    async def _reconnect_loop(self) -> None:
        while not self._closing:
            await asyncio.sleep(RECONNECT_S)
            try:
                await self._connect()
            except (OSError, asyncpg.PostgresError) as exc:
                log.warning("chat_listen_retry", error=str(exc))
                continue
            for queues in self._queues.values():
                for queue in queues:
                    _offer(queue, {"t": "resync"})
            return

    def _notified(self, _conn: Any, _pid: int, channel: str, payload: str) -> None:
        try:
            event = json.loads(payload)
        except ValueError:
            return
        for queue in list(self._queues.get(channel, ())):
            _offer(queue, event)

    @asynccontextmanager
    async def subscribe(self, *channels: str) -> AsyncIterator[asyncio.Queue[dict[str, Any]]]:
        """A queue receiving every event published on ``channels`` while the block runs."""
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=1000)
        await self.add(queue, *channels)
        try:
            yield queue
        finally:
            await self.remove(queue, *channels)

    async def add(self, queue: asyncio.Queue[dict[str, Any]], *channels: str) -> None:
        async with self._lock:
            for channel in channels:
                subscribers = self._queues.setdefault(channel, set())
                first = not subscribers
                subscribers.add(queue)
                if first and self._conn is not None and not self._conn.is_closed():
                    await self._conn.add_listener(channel, self._notified)

    async def remove(self, queue: asyncio.Queue[dict[str, Any]], *channels: str) -> None:
        async with self._lock:
            for channel in channels:
                subscribers = self._queues.get(channel)
                if subscribers is None:
                    continue
                subscribers.discard(queue)
                if not subscribers:
                    del self._queues[channel]
                    if self._conn is not None and not self._conn.is_closed():
                        with contextlib.suppress(Exception):
                            await self._conn.remove_listener(channel, self._notified)
