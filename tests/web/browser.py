"""Helpers for browser tests: find Debian's chromium, run the app on a real port."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from pathlib import Path

import httpx
import uvicorn
from fastapi import FastAPI

CHROMIUM_CANDIDATES = ("chromium", "chromium-browser")
# As the probe found: without the background-networking flags chromium keeps dialling out and
# this machine's closed network refuses it; as root it needs --no-sandbox.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def chromium_path() -> str | None:
    for name in CHROMIUM_CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer:
    """The real app under uvicorn in a background thread, on 127.0.0.1:<free port>."""

    def __init__(self, app: FastAPI) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_config=None, access_log=False
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="live-server", daemon=True)

    def start(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError("live server did not start")

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=2)
        if self.thread.is_alive():
            # Connections the browser keeps open (a chat's websocket, keep-alive) would hold a
            # graceful shutdown for as long as the browser lives: the session ends here anyway.
            self.server.force_exit = True
            self.thread.join(timeout=15)
