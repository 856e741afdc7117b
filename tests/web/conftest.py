"""Browser fixtures: Debian's chromium driven by Playwright against a live server.

Playwright's sync API keeps its own event loop running in the main thread while the browser is
open, so async tests cannot run after a browser test in the same session: tests/web is collected
last (keep it that way, or run it on its own).

Without chromium the browser tests are skipped with a message saying how to get it; with
``QIANBAO_REQUIRE_BROWSER=1`` (as in CI) a missing browser fails them instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from qianbao.kernel.clock import TestClock
from qianbao.main import create_app
from tests.conftest import DatabaseFactory, _run, base_settings
from tests.web.browser import ARTIFACTS, CHROMIUM_ARGS, LiveServer, chromium_path

MISSING = (
    "chromium not found: browser tests need Debian's chromium "
    "(as root: apt-get install chromium). Set QIANBAO_REQUIRE_BROWSER=1 to make this a failure."
)

# One browser (one address) plays every user of a module's server: the per-address limits
# (tests/integration/test_throttle.py proves them) would only get in the way here.
BROWSER_THROTTLE = {
    "sign_in_per_minute": 10_000,
    "codes_per_minute": 10_000,
    "tickets_per_minute": 10_000,
    "chat_per_minute": 10_000,
    "search_per_minute": 10_000,
    "verify_per_minute": 10_000,
}


@pytest.fixture(scope="session")
def chromium() -> str:
    path = chromium_path()
    if path is None:
        if base_settings().require_browser:
            pytest.fail(MISSING)
        pytest.skip(MISSING)
    return path


@pytest.fixture(scope="session")
def browser(chromium: str) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="session")
def live_server(db_factory: DatabaseFactory) -> Iterator[LiveServer]:
    url = _run(db_factory.create())
    app = create_app(base_settings(), database_url_override=url, run_worker=True, clock=TestClock())
    server = LiveServer(app).start()
    try:
        yield server
    finally:
        server.stop()


VIEWPORTS = {"phone": {"width": 375, "height": 812}, "desktop": {"width": 1280, "height": 800}}
BROWSER_LOCALES = {"zh_CN": "zh-CN", "en": "en-US"}


@pytest.fixture
def new_page(browser: object, live_server: LiveServer) -> Iterator[Callable[..., object]]:
    """new_page(locale="en", viewport="phone") -> a Playwright page on a fresh context."""
    contexts: list = []

    def make(locale: str = "zh_CN", viewport: str = "phone") -> object:
        context = browser.new_context(  # type: ignore[attr-defined]
            base_url=live_server.url,
            locale=BROWSER_LOCALES[locale],
            viewport=VIEWPORTS[viewport],
            device_scale_factor=1,
            is_mobile=viewport == "phone",
            has_touch=viewport == "phone",
        )
        contexts.append(context)
        page = context.new_page()
        page.console_errors = []  # type: ignore[attr-defined]
        page.on("console", lambda m: m.type == "error" and page.console_errors.append(m.text))  # type: ignore[attr-defined]
        page.on("pageerror", lambda e: page.console_errors.append(str(e)))  # type: ignore[attr-defined]
        return page

    yield make
    for context in contexts:
        context.close()


def screenshot(page: object, name: str) -> str:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / "screenshots" / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
    return str(path)


# -- live servers for the pages: the app on its own database, worker and TestClock ------------
@contextmanager
def pages_server(db_factory: DatabaseFactory, folder: Path) -> Iterator[Any]:
    """A live server for page tests, with its outboxes in ``folder``. Its clock
    (``server.clock``, a TestClock) is the one its pages, API, jobs and WebSocket read: a test
    that depends on the time of day moves it (``server.clock.travel(at)``)."""
    from tests.support.pages import PagesServer  # (imports this module)

    url = _run(db_factory.create())
    settings = base_settings(
        sms={"outbox_path": folder / "sms.jsonl", "console_echo": False},
        email={"backend": "file", "outbox_dir": folder / "mail"},
        worker={"poll_interval_s": 0.2},
        throttle=BROWSER_THROTTLE,
        identity={
            "otp_max_sends_per_ip_hour": 10_000,
            "otp_resend_cooldown_s": 0,
            "webauthn_rp_id": "localhost",
        },
        payments={
            "payout_outbox_path": folder / "payouts.jsonl",
            "sandbox_secret": "pages-sandbox-signing-key",
            "payout_settle_after_s": 0,
            "payout_poll_interval_s": 0.5,
            "withdrawal_review_above": "1000.00",
        },
    )
    app = create_app(settings, database_url_override=url, run_worker=True, clock=TestClock())
    live = LiveServer(app)
    # Browsers refuse an IP address as a WebAuthn relying-party id ("This is an invalid domain"),
    # so the pages are opened on http://localhost:<port> (a secure context, like 127.0.0.1).
    origin = live.url.replace("127.0.0.1", "localhost")
    settings.identity.webauthn_origin = origin  # the port is known only now
    settings.http.port = live.port  # where it listens (QIANBAO_HTTP__PORT); no public URL is set
    live.start()
    try:
        yield PagesServer(app, live, origin)
    finally:
        live.stop()


# -- one live server for the account and wallet pages ---------------------------------------
@pytest.fixture(scope="session")
def server(
    db_factory: DatabaseFactory,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Any]:
    with pages_server(db_factory, tmp_path_factory.mktemp("pages")) as live:
        yield live


@pytest.fixture
def open_page(browser: Any, server: Any) -> Iterator[Callable[..., Any]]:
    yield from page_opener(browser, server)


def page_opener(browser: Any, server: Any) -> Iterator[Callable[..., Any]]:
    """make(locale="zh_CN", viewport="phone") -> a Playwright page on ``server``, in a fresh
    context closed at the end of the test."""
    contexts: list[Any] = []

    def make(locale: str = "zh_CN", viewport: str = "phone") -> Any:
        context = browser.new_context(
            base_url=server.url,
            locale=BROWSER_LOCALES[locale],
            viewport=VIEWPORTS[viewport],
            device_scale_factor=1,
            is_mobile=viewport == "phone",
            has_touch=viewport == "phone",
        )
        contexts.append(context)
        page = context.new_page()
        page.console_errors = []
        page.on("console", lambda m: m.type == "error" and page.console_errors.append(m.text))
        page.on("pageerror", lambda e: page.console_errors.append(str(e)))
        return page

    yield make
    for context in contexts:
        context.close()


# -- a second live server, configured by its port only ---------------------------------------
@pytest.fixture(scope="session")
def other_port_server(
    db_factory: DatabaseFactory,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Any]:
    """Another deployment, started the way an operator starts one on a port other than 8000:
    ``QIANBAO_HTTP__PORT=<port>`` and nothing else. No public URL is configured and none is set
    afterwards; its pages are opened on http://localhost:<port>."""
    import threading

    import uvicorn

    from qianbao.kernel.clock import TestClock
    from tests.support.pages import PagesServer
    from tests.web.browser import free_port

    url = _run(db_factory.create())
    folder = tmp_path_factory.mktemp("pages-other-port")
    port = free_port()
    settings = base_settings(
        http={"port": port, "max_in_flight": 10_000},
        sms={"outbox_path": folder / "sms.jsonl", "console_echo": False},
        email={"backend": "file", "outbox_dir": folder / "mail"},
        worker={"poll_interval_s": 0.2},
        throttle=BROWSER_THROTTLE,
        identity={"otp_max_sends_per_ip_hour": 10_000, "otp_resend_cooldown_s": 0},
        payments={
            "payout_outbox_path": folder / "payouts.jsonl",
            "sandbox_secret": "other-port-sandbox-signing-key",
        },
    )
    assert settings.http.public_url is None
    app = create_app(settings, database_url_override=url, run_worker=True, clock=TestClock())
    live = LiveServer(app)
    # Listen where the settings say (LiveServer would pick a free port of its own).
    live.port, live.url = port, f"http://{settings.http.host}:{port}"
    live.server = uvicorn.Server(
        uvicorn.Config(app, host=settings.http.host, port=port, log_config=None, access_log=False)
    )
    live.thread = threading.Thread(target=live.server.run, name="live-server-2", daemon=True)
    live.start()
    try:
        yield PagesServer(app, live, f"http://localhost:{port}")
    finally:
        live.stop()
