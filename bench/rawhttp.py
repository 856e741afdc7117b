"""A minimal HTTP/1.1 keep-alive client on asyncio streams, for load generation only.

httpx costs about 1.5 ms of CPU per request on these machines; the load generator shares two
cores with the server and PostgreSQL, so every millisecond it burns is one the server does not
get. This client sends pre-encoded requests and parses only the status line, ``Content-Length``
and the body: about a tenth of the cost. It is not a general HTTP client (no chunked bodies, no
redirects, no TLS) and must not be used outside the benchmarks.
"""

from __future__ import annotations

import asyncio


class Response:
    __slots__ = ("body", "status")

    def __init__(self, status: int, body: bytes) -> None:
        self.status = status
        self.body = body


class Connection:
    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def _open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    async def request(
        self, method: str, path: str, body: bytes, headers: dict[str, str] | None = None
    ) -> Response:
        if self.writer is None:
            await self._open()
        assert self.reader is not None
        assert self.writer is not None
        head = [f"{method} {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"]
        if body:
            head.append(f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n")
        for name, value in (headers or {}).items():
            head.append(f"{name}: {value}\r\n")
        head.append("\r\n")
        self.writer.write("".join(head).encode() + body)
        status_and_headers = await self.reader.readuntil(b"\r\n\r\n")
        lines = status_and_headers.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        length = 0
        close = False
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            lowered = name.strip().lower()
            if lowered == b"content-length":
                length = int(value)
            elif lowered == b"connection" and value.strip().lower() == b"close":
                close = True
            elif lowered == b"transfer-encoding":
                raise RuntimeError("chunked responses are not supported by the bench client")
        payload = await self.reader.readexactly(length) if length else b""
        if close:
            self.close()
        return Response(status, payload)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


class Pool:
    """Idle connections for the open-loop phase: reuse one if free, else open another."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self.idle: list[Connection] = []
        self.opened = 0

    async def request(
        self, method: str, path: str, body: bytes, headers: dict[str, str] | None = None
    ) -> Response:
        reused = bool(self.idle)
        conn = self.idle.pop() if reused else self._new()
        try:
            response = await conn.request(method, path, body, headers)
        except (asyncio.IncompleteReadError, ConnectionResetError) as exc:
            conn.close()
            if not reused or (isinstance(exc, asyncio.IncompleteReadError) and exc.partial):
                raise
            # The server closed a keep-alive connection that sat idle (uvicorn: after 5 s) before
            # answering anything: send again on a new one. Only used for requests that carry an
            # Idempotency-Key, so a retry cannot apply twice.
            conn = self._new()
            response = await conn.request(method, path, body, headers)
        except BaseException:
            conn.close()
            raise
        self.idle.append(conn)
        return response

    def _new(self) -> Connection:
        self.opened += 1
        return Connection(self.host, self.port)

    def close(self) -> None:
        for conn in self.idle:
            conn.close()
        self.idle.clear()
