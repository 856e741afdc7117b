"""A local stand-in for the platforms' HTTP APIs, recording what it receives (tests, the demo:
``qianbao im fake --port 8190`` and ``QIANBAO_IM__BACKEND=http``,
``QIANBAO_IM__WECHAT_API_BASE`` / ``QIANBAO_IM__TELEGRAM_API_BASE`` pointing at it).

It speaks what the documentation describes:
- ``GET /cgi-bin/token?grant_type=client_credential&appid=..&secret=..`` →
  ``{"access_token", "expires_in": 7200}`` (``errcode`` 40125 for a wrong secret when one is
  expected);
- ``POST /cgi-bin/message/custom/send?access_token=..`` (JSON ``touser``, ``msgtype``,
  ``text.content``) → ``{"errcode": 0, "errmsg": "ok"}``, 40001 for an unknown token;
- ``POST /bot<token>/sendMessage`` (JSON ``chat_id``, ``text``) → ``{"ok": true, "result": {...}}``,
  401 for a token other than the expected one.
"""

from __future__ import annotations

import json
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


class FakePlatforms:
    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        wechat_secret: str | None = None,
        telegram_token: str | None = None,
        echo: bool = False,
    ) -> None:
        self.wechat_secret = wechat_secret
        self.telegram_token = telegram_token
        self.echo = echo
        self.requests: list[dict[str, Any]] = []
        self.tokens: set[str] = set()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer((host, port), self._handler())
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> FakePlatforms:
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def received(self, path_end: str) -> list[dict[str, Any]]:
        with self._lock:
            return [r for r in self.requests if r["path"].endswith(path_end)]

    def expire_tokens(self) -> None:
        """Every token handed out so far is now invalid (errcode 40001 on use)."""
        with self._lock:
            self.tokens.clear()

    # -- the HTTP side -------------------------------------------------------------------------
    def _answer(self, method: str, path: str, query: dict[str, str], body: Any) -> tuple[int, Any]:
        if path == "/cgi-bin/token" and method == "GET":
            if query.get("grant_type") != "client_credential" or not query.get("appid"):
                return 200, {"errcode": 40013, "errmsg": "invalid appid"}
            if self.wechat_secret is not None and query.get("secret") != self.wechat_secret:
                return 200, {"errcode": 40125, "errmsg": "invalid appsecret"}
            token = secrets.token_urlsafe(24)
            with self._lock:
                self.tokens.add(token)
            return 200, {"access_token": token, "expires_in": 7200}
        if path == "/cgi-bin/message/custom/send" and method == "POST":
            with self._lock:
                known = query.get("access_token") in self.tokens
            if not known:
                return 200, {"errcode": 40001, "errmsg": "invalid credential"}
            if not isinstance(body, dict) or not body.get("touser"):
                return 200, {"errcode": 40003, "errmsg": "invalid openid"}
            return 200, {"errcode": 0, "errmsg": "ok"}
        if path.startswith("/bot") and path.endswith("/sendMessage") and method == "POST":
            token = path[len("/bot") : -len("/sendMessage")]
            if self.telegram_token is not None and token != self.telegram_token:
                return 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
            if not isinstance(body, dict) or "chat_id" not in body or not body.get("text"):
                return 400, {"ok": False, "error_code": 400, "description": "Bad Request"}
            chat = {"id": body["chat_id"], "type": "private"}
            return 200, {
                "ok": True,
                "result": {"message_id": len(self.requests), "chat": chat, "text": body["text"]},
            }
        return 404, {"ok": False, "error_code": 404, "description": "Not Found"}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _do(self, method: str) -> None:
                parts = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = None
                status, answer = fake._answer(method, parts.path, query, body)
                record = {
                    "method": method,
                    "path": parts.path,
                    "query": query,
                    "json": body,
                    "status": status,
                }
                with fake._lock:
                    fake.requests.append(record)
                if fake.echo:  # the app secret and tokens are not printed
                    shown: dict[str, Any] = {
                        **record,
                        "query": {
                            k: "***" if k in ("secret", "access_token") else v
                            for k, v in query.items()
                        },
                    }
                    if shown["path"].startswith("/bot"):
                        shown["path"] = "/bot***/" + shown["path"].rsplit("/", 1)[-1]
                    print(json.dumps(shown, ensure_ascii=False), flush=True)
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                self._do("GET")

            def do_POST(self) -> None:
                self._do("POST")

            def log_message(self, format: str, *args: Any) -> None:
                return

        return Handler
