"""`qianbao im ...`: the messaging channels' local tools (E8).

- ``qianbao im fake --port 8190``: a local server speaking WeChat's ``cgi-bin/token`` and
  ``cgi-bin/message/custom/send`` and Telegram's ``sendMessage``, printing what it receives
  (run the app with ``QIANBAO_IM__BACKEND=http`` and both API bases at it);
- ``qianbao im replay wechat|telegram FILE --url http://localhost:8000``: post a recorded push
  (tests/data/im/) as the platform would — WeChat signed with the configured Token, Telegram
  with the secret-token header — optionally with another text or sender, and a fresh MsgId /
  update_id so a replay is not taken for a retry."""

from __future__ import annotations

import json
import re
import secrets
from datetime import datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Annotated
from xml.sax.saxutils import escape

import typer

from qianbao.kernel.clock import system_clock
from qianbao.ops.cli_support import fail, load_settings

im_app = typer.Typer(
    help="WeChat and Telegram channels: a local fake server, replays.", no_args_is_help=True
)


@im_app.command("fake")
def fake(
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8190,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
) -> None:
    """Serve the platforms' APIs locally and print every request (secrets hidden)."""
    from qianbao.support.im.fake import FakePlatforms

    server = FakePlatforms(host, port, echo=True)
    typer.echo(f"Fake WeChat and Telegram APIs on {server.url} (Ctrl+C to stop). Run the app with")
    typer.echo(
        f"  QIANBAO_IM__BACKEND=http QIANBAO_IM__WECHAT_API_BASE={server.url} "
        f"QIANBAO_IM__TELEGRAM_API_BASE={server.url}"
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


def _cdata(text: str) -> str:
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def server_now(base: str) -> datetime:
    """The server's own time (its Date header): the push's timestamp must be within minutes of
    the server's clock, which is not this machine's under ``make run RUN_AT=…``."""
    import httpx

    try:
        stamp = httpx.get(f"{base}/healthz", timeout=5).headers.get("date")
        return parsedate_to_datetime(stamp) if stamp else system_clock.now()
    except (httpx.HTTPError, TypeError, ValueError):
        return system_clock.now()


def wechat_body(
    raw: str, *, text: str | None, sender: str | None, fresh: bool, now: datetime | None = None
) -> str:
    if text is not None:
        raw = re.sub(
            r"<Content>.*?</Content>", "<Content>" + _cdata(text) + "</Content>", raw, flags=re.S
        )
    if sender is not None:
        raw = re.sub(
            r"<FromUserName>.*?</FromUserName>",
            "<FromUserName>" + escape(sender) + "</FromUserName>",
            raw,
            flags=re.S,
        )
    if fresh:
        raw = re.sub(r"<MsgId>\d+</MsgId>", f"<MsgId>{secrets.randbelow(10**16)}</MsgId>", raw)
        raw = re.sub(
            r"<CreateTime>\d+</CreateTime>",
            f"<CreateTime>{int((now or system_clock.now()).timestamp())}</CreateTime>",
            raw,
        )
    return raw


@im_app.command("replay")
def replay(
    channel: Annotated[str, typer.Argument(help="wechat or telegram")],
    file: Annotated[
        Path, typer.Argument(help="A recorded push (XML for WeChat, JSON for Telegram).")
    ],
    url: Annotated[str, typer.Option(help="The server's base URL.")] = "http://localhost:8000",
    text: Annotated[
        str | None, typer.Option(help="Send this text instead of the recorded one.")
    ] = None,
    sender: Annotated[
        str | None, typer.Option("--from", help="Another openid / Telegram id.")
    ] = None,
    keep_id: Annotated[
        bool, typer.Option(help="Keep the recorded MsgId / update_id (a retry).")
    ] = False,
) -> None:
    """Post a recorded push to /hooks/wechat or /hooks/telegram, signed as the platform does."""
    import httpx

    from qianbao.support.im import wechat
    from qianbao.support.im.config import ImConfig

    settings = load_settings()
    cfg = ImConfig.of(settings)
    if channel not in ("wechat", "telegram"):
        raise fail("the channel is wechat or telegram")
    raw = file.read_text(encoding="utf-8")
    base = url.rstrip("/")
    try:
        if channel == "wechat":
            now = server_now(base)
            body = wechat_body(raw, text=text, sender=sender, fresh=not keep_id, now=now)
            timestamp, nonce = str(int(now.timestamp())), secrets.token_hex(8)
            params = {
                "signature": wechat.signature(cfg.secret("wechat_token"), timestamp, nonce),
                "timestamp": timestamp,
                "nonce": nonce,
            }
            response = httpx.post(
                f"{base}/hooks/wechat",
                params=params,
                content=body.encode(),
                headers={"Content-Type": "text/xml"},
                timeout=10,
            )
        else:
            update = json.loads(raw)
            message = update.get("message") or {}
            if text is not None:
                message["text"] = text
            if sender is not None:
                message.setdefault("chat", {})["id"] = int(sender)
                message.setdefault("from", {})["id"] = int(sender)
            if not keep_id:
                update["update_id"] = secrets.randbelow(2**31)
            response = httpx.post(
                f"{base}/hooks/telegram",
                json=update,
                headers={"X-Telegram-Bot-Api-Secret-Token": cfg.secret("telegram_secret_token")},
                timeout=10,
            )
    except LookupError:
        raise fail(f"the {channel} channel has no secret configured") from None
    except httpx.HTTPError as exc:
        raise fail(f"could not reach {base}: {exc}") from None
    typer.echo(f"{response.status_code} {response.text[:200]}")
    if response.status_code != 200:
        raise typer.Exit(1)
