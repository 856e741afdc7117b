"""A webhook receiver for the benchmark, in its own process (``python -m bench.webhook_sink PORT
SECRETS.json``): HTTP/1.1 with keep-alive; it verifies every delivery as a shop would, with the
``standardwebhooks`` package and the secret of the endpoint's path, answers 204 (401 when the
signature is wrong) and, on SIGTERM, prints ``verified rejected duplicates``."""

from __future__ import annotations

import asyncio
import json
import signal
import sys

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

verified = rejected = duplicates = 0
seen: set[str] = set()
hooks: dict[str, Webhook] = {}


def _check(path: str, headers: dict[str, str], body: bytes) -> bool:
    global verified, rejected, duplicates
    hook = hooks.get(path)
    try:
        if hook is None:
            raise WebhookVerificationError("unknown endpoint")
        hook.verify(body, headers)
    except WebhookVerificationError:
        rejected += 1
        return False
    verified += 1
    msg_id = headers["webhook-id"]
    if msg_id in seen:
        duplicates += 1
    seen.add(msg_id)
    return True


async def _serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            path = lines[0].split(" ")[1]
            headers = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            status = b"204 No Content" if _check(path, headers, body) else b"401 Unauthorized"
            writer.write(b"HTTP/1.1 " + status + b"\r\ncontent-length: 0\r\n\r\n")
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def main(port: int) -> None:
    server = await asyncio.start_server(_serve, "127.0.0.1", port, backlog=512)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    print("ready", flush=True)
    async with server:
        await stop.wait()
    print(verified, rejected, duplicates, flush=True)


if __name__ == "__main__":
    with open(sys.argv[2], encoding="utf-8") as fh:
        hooks.update({path: Webhook(secret) for path, secret in json.load(fh).items()})
    asyncio.run(main(int(sys.argv[1])))
