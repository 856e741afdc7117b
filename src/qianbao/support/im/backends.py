"""Where outgoing messages go: ``DevOutbox`` really delivers them to a local JSON Lines file
(``settings.im.outbox_path``, one ``{"id", "channel", "to", "text", "sent_at"}`` per line, an
id already in the file is not written again), ``HttpPlatforms`` speaks the platforms' APIs at a
configurable base URL (the real ones, or ``qianbao im fake``).

WeChat's access token (``cgi-bin/token``, client_credential) is cached per process until a
minute before its ``expires_in`` on the injected clock, and fetched again when WeChat says it
is invalid or expired (errcode 40001, 40014, 42001)."""

from __future__ import annotations

import asyncio
import fcntl
import json
import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar, Protocol

import httpx

from qianbao.kernel.clock import Clock
from qianbao.support.im import telegram, wechat
from qianbao.support.im.config import ImConfig

TOKEN_ERRORS = {40001, 40014, 42001}
_SECRETS_IN_URL = re.compile(r"((?:secret|access_token)=)[^&\s\"']+|(/bot)[^/\s]+(/)")


class _HideSecrets(logging.Filter):
    """httpx logs each request's URL: WeChat's app secret and access token travel in the
    query, Telegram's bot token in the path. They are replaced before any handler sees them."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            record.args = tuple(
                _SECRETS_IN_URL.sub(_hidden, str(a)) if isinstance(a, str | httpx.URL) else a
                for a in (record.args if isinstance(record.args, tuple) else (record.args,))
            )
        return True


def _hidden(match: re.Match[str]) -> str:
    if match.group(1):
        return f"{match.group(1)}***"
    return f"{match.group(2)}***{match.group(3)}"


if not any(isinstance(f, _HideSecrets) for f in logging.getLogger("httpx").filters):
    logging.getLogger("httpx").addFilter(_HideSecrets())


class SendFailed(Exception):
    def __init__(self, reason: str, *, retryable: bool = True) -> None:
        super().__init__(reason)
        self.reason = reason[:300]
        self.retryable = retryable


@dataclass(frozen=True)
class Outgoing:
    key: str
    channel: str
    to: str
    text: str


class Backend(Protocol):
    async def send(self, item: Outgoing) -> None: ...


class DevOutbox:
    def __init__(self, path: Path, clock: Clock) -> None:
        self.path = Path(path)
        self.clock = clock

    async def send(self, item: Outgoing) -> None:
        record = {
            "id": item.key,
            "channel": item.channel,
            "to": item.to,
            "text": item.text,
            "sent_at": self.clock.now().isoformat(),
        }
        await asyncio.to_thread(self._append_once, record)

    def _append_once(self, record: dict[str, str]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a+", encoding="utf-8") as fh:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            try:
                fh.seek(0)
                for line in fh:
                    try:
                        if json.loads(line).get("id") == record["id"]:
                            return
                    except ValueError:
                        continue
                fh.seek(0, 2)
                fh.write(json.dumps(record, ensure_ascii=False) + "\n")
                fh.flush()
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)

    def messages(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        with self.path.open(encoding="utf-8") as fh:
            return [json.loads(line) for line in fh if line.strip()]


class HttpPlatforms:
    # (api base, app id) -> (access token, valid until): shared by the process's sends.
    _tokens: ClassVar[dict[tuple[str, str], tuple[str, datetime]]] = {}

    def __init__(
        self,
        cfg: ImConfig,
        clock: Clock,
        *,
        wechat_base: str,
        telegram_base: str,
        timeout_s: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.cfg = cfg
        self.clock = clock
        self.wechat_base = wechat_base
        self.telegram_base = telegram_base
        self.timeout_s = timeout_s
        self._transport = transport

    def __repr__(self) -> str:
        return f"HttpPlatforms(wechat={self.wechat_base!r}, telegram={self.telegram_base!r})"

    async def send(self, item: Outgoing) -> None:
        async with httpx.AsyncClient(timeout=self.timeout_s, transport=self._transport) as http:
            try:
                if item.channel == "wechat":
                    await self._wechat(http, item)
                else:
                    await self._telegram(http, item)
            except httpx.HTTPError as exc:
                raise SendFailed(f"{type(exc).__name__}") from None

    # -- WeChat --------------------------------------------------------------------------------
    async def _token(self, http: httpx.AsyncClient, *, fresh: bool = False) -> str:
        key = (self.wechat_base, self.cfg.wechat_app_id)
        cached = self._tokens.get(key)
        now = self.clock.now()
        if cached is not None and not fresh and cached[1] > now:
            return cached[0]
        url, params = wechat.token_url(
            self.wechat_base, self.cfg.wechat_app_id, self.cfg.secret("wechat_app_secret")
        )
        response = await http.get(url, params=params)
        data = _json(response)
        token = data.get("access_token")
        if not isinstance(token, str) or not token:
            raise SendFailed(f"wechat token: errcode {data.get('errcode')}")
        expires_in = int(data.get("expires_in") or 7200)
        self._tokens[key] = (token, now + timedelta(seconds=max(expires_in - 60, 1)))
        return token

    async def _wechat(self, http: httpx.AsyncClient, item: Outgoing) -> None:
        url = f"{self.wechat_base.rstrip('/')}/cgi-bin/message/custom/send"
        body = wechat.custom_send(item.to, item.text)
        for fresh in (False, True):
            token = await self._token(http, fresh=fresh)
            response = await http.post(
                url,
                params={"access_token": token},
                content=json.dumps(body, ensure_ascii=False).encode(),
                headers={"Content-Type": "application/json; charset=utf-8"},
            )
            data = _json(response)
            code = int(data.get("errcode") or 0)
            if code == 0:
                return
            if code not in TOKEN_ERRORS:
                # 45015: the customer wrote more than 48 hours ago; 45047: too many messages.
                raise SendFailed(f"wechat custom/send: errcode {code}", retryable=code == -1)
        raise SendFailed("wechat custom/send: token refused twice")

    # -- Telegram ------------------------------------------------------------------------------
    async def _telegram(self, http: httpx.AsyncClient, item: Outgoing) -> None:
        url = telegram.send_url(self.telegram_base, self.cfg.secret("telegram_bot_token"))
        response = await http.post(url, json=telegram.send_body(item.to, item.text))
        data = _json(response)
        if data.get("ok") is True:
            return
        code = data.get("error_code")
        retryable = code == 429 or (isinstance(code, int) and code >= 500)
        raise SendFailed(f"telegram sendMessage: {code}", retryable=retryable)


def _json(response: httpx.Response) -> dict[str, Any]:
    if response.status_code >= 500:
        raise SendFailed(f"HTTP {response.status_code}")
    try:
        data = response.json()
    except ValueError:
        raise SendFailed(f"HTTP {response.status_code}: not JSON") from None
    if not isinstance(data, dict):
        raise SendFailed("not a JSON object")
    return data


def backend_of(settings: Any, clock: Clock) -> Backend:
    im = settings.im
    if im.backend == "http":
        return HttpPlatforms(
            ImConfig.of(settings),
            clock,
            wechat_base=im.wechat_api_base,
            telegram_base=im.telegram_api_base,
            timeout_s=im.timeout_s,
        )
    return DevOutbox(im.outbox_path, clock)
