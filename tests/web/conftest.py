"""Browser fixtures: Debian's chromium driven by Playwright against a live server.

Without chromium the browser tests are skipped with a message saying how to get it; with
``QIANBAO_REQUIRE_BROWSER=1`` (as in CI) a missing browser fails them instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from qianbao.main import create_app
from tests.conftest import DatabaseFactory, _run, base_settings
from tests.web.browser import ARTIFACTS, CHROMIUM_ARGS, LiveServer, chromium_path

MISSING = (
    "chromium not found: browser tests need Debian's chromium "
    "(as root: apt-get install chromium). Set QIANBAO_REQUIRE_BROWSER=1 to make this a failure."
)


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
    app = create_app(base_settings(), database_url_override=url, run_worker=True)
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
