"""The processes `make chaos` kills: the service (`qianbao serve`, job worker in-process, as
`make run` runs it) and the embedded PostgreSQL's postmaster.

Both are real OS processes. The service is started with ``python -m qianbao.cli serve`` and its
settings in ``QIANBAO_*`` variables; PostgreSQL is a throwaway cluster of
``qianbao.ops.embedded_pg`` (as `make bench` starts one), restarted with the same helper after a
``SIGKILL`` (crash recovery replays its WAL)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from qianbao.ops.embedded_pg import EmbeddedPostgres, EmbeddedPostgresError

SECRET_KEY = "chaos-secret-key-0123456789abcdef0123"
PIN_PEPPER = "chaos-pin-pepper-0123456789abcdef0123"
SANDBOX_SECRET = "chaos-sandbox-secret-0123456789abcdef"
BIG = 10**9  # "no limit" for the code budgets the load would otherwise run into


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Files:
    """Where the service's development backends deliver: what the checks count."""

    root: Path

    @property
    def var(self) -> Path:
        return self.root / "var"

    @property
    def sms(self) -> Path:
        return self.var / "sms-outbox.jsonl"

    @property
    def mail(self) -> Path:
        return self.var / "mail"

    @property
    def payouts(self) -> Path:
        return self.var / "payouts.jsonl"

    @property
    def logs(self) -> Path:
        return self.root / "logs"


def service_env(url: str, port: int, files: Files) -> dict[str, str]:
    """The deployment under test. Everything not set here is the default of `make run`; what is
    set either points the development backends into the run's folder, or lifts a limit the
    steady load would otherwise hit (code budgets, the velocity rule) — limits are not what this
    run tests — or shortens the payout backend's delays so withdrawals finish within the run."""
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("QIANBAO_")},
        "QIANBAO_ENVIRONMENT": "development",
        "QIANBAO_DATABASE__URL": url,
        "QIANBAO_VAR_DIR": str(files.var),
        "QIANBAO_HTTP__PORT": str(port),
        "QIANBAO_LOGGING__LEVEL": "WARNING",
        "QIANBAO_SECURITY__SECRET_KEY": SECRET_KEY,
        "QIANBAO_IDENTITY__PIN_PEPPER": PIN_PEPPER,
        "QIANBAO_PAYMENTS__SANDBOX_SECRET": SANDBOX_SECRET,
        "QIANBAO_SMS__OUTBOX_PATH": str(files.sms),
        "QIANBAO_SMS__CONSOLE_ECHO": "false",
        "QIANBAO_EMAIL__OUTBOX_DIR": str(files.mail),
        "QIANBAO_PAYMENTS__PAYOUT_OUTBOX_PATH": str(files.payouts),
        "QIANBAO_PAYMENTS__PAYOUT_SETTLE_AFTER_S": "1",
        "QIANBAO_PAYMENTS__PAYOUT_POLL_INTERVAL_S": "1",
        "QIANBAO_WORKER__IN_PROCESS": "true",
        "QIANBAO_WORKER__POLL_INTERVAL_S": "0.5",
        "QIANBAO_RISK__VELOCITY_MAX": "0",
        "QIANBAO_IDENTITY__OTP_RESEND_COOLDOWN_S": "0",
        "QIANBAO_IDENTITY__OTP_MAX_SENDS_PER_PURPOSE_HOUR": str(BIG),
        "QIANBAO_IDENTITY__OTP_MAX_SENDS_PER_NUMBER_HOUR": str(BIG),
        "QIANBAO_IDENTITY__OTP_MAX_SENDS_PER_IP_HOUR": str(BIG),
        **_faketime_env(),
    }


def _faketime_env() -> dict[str, str]:
    """Under libfaketime (the test suite's TEST_AT runs) PostgreSQL's timers misfire: the first
    alarm that rings while a backend waits fires every pending timeout, so a statement or a lock
    wait past deadlock_timeout (1 s) fails as a timeout and the service answers 503. Those runs
    test the calendar, not timeouts: the service's statement and lock timeouts are off, as the
    in-process tests' are (tests/conftest.py)."""
    if not os.environ.get("TEST_AT"):
        return {}
    return {
        "QIANBAO_DATABASE__STATEMENT_TIMEOUT_MS": "0",
        "QIANBAO_DATABASE__LOCK_TIMEOUT_MS": "0",
    }


@dataclass
class Service:
    """`qianbao serve` as its own process; ``kill9`` and ``start`` again as often as needed."""

    url: str
    files: Files
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0
    env: dict[str, str] = field(default_factory=dict)  # QIANBAO_* settings on top (make overload)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.files.logs.mkdir(parents=True, exist_ok=True)
        self.starts += 1
        log = (self.files.logs / f"serve-{self.starts:02d}.log").open("wb")
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "qianbao.cli", "serve", "--port", str(self.port)],
                env={**service_env(self.url, self.port, self.files), **self.env},
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.files.root,
            )
        finally:
            log.close()

    def kill9(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill9()

    def log_tail(self, chars: int = 3000) -> str:
        path = self.files.logs / f"serve-{self.starts:02d}.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""

    async def wait_ready(self, within_s: float = 120.0) -> float:
        """Seconds until ``/readyz`` answers 200 (database reachable, schema current)."""
        t0 = time.monotonic()
        async with httpx.AsyncClient(base_url=self.base, timeout=2.0) as client:
            while time.monotonic() - t0 < within_s:
                if self.proc is not None and self.proc.poll() is not None:
                    raise RuntimeError(
                        f"the service exited with {self.proc.returncode}:\n{self.log_tail()}"
                    )
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get("/readyz")).status_code == 200:
                        return time.monotonic() - t0
                await asyncio.sleep(0.1)
        raise RuntimeError(f"/readyz not 200 within {within_s:.0f} s:\n{self.log_tail()}")


def kill_postmaster(pg: EmbeddedPostgres) -> int:
    """SIGKILL the postmaster (not its children: they find out by themselves, as in a crash)."""
    status = pg.status()
    if not status.running or status.pid is None:
        raise RuntimeError("the embedded PostgreSQL is not running")
    os.kill(status.pid, signal.SIGKILL)
    for _ in range(200):
        try:
            os.kill(status.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.01)
    return status.pid


def restart_postgres(pg: EmbeddedPostgres, timeout: float = 60.0) -> int:
    """Start the killed cluster again (crash recovery). Orphaned backends of the old postmaster
    may still hold its shared memory for a moment; retry until they are gone. Returns tries."""
    deadline = time.monotonic() + timeout
    tries = 0
    while True:
        tries += 1
        try:
            pg.start(timeout=30)
            return tries
        except EmbeddedPostgresError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)
