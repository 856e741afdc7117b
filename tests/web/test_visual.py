"""Screenshot tests: the main customer pages at 375 px and 1280 px, in Chinese and English,
against the baselines in tests/web/baselines/ (same data, same moment: tests/support/showcase).

A page passes when at most 0.5 % of its pixels differ by more than a small amount (anti-aliasing
may move by a shade between two runs). On a failure the new screenshot and a difference image are
in test-artifacts/visual/. After a change that is wanted, record the new baselines with

    make visual-update

and look at every changed PNG before committing it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageChops

from tests.support.pages import sign_in
from tests.support.showcase import Showcase, seed
from tests.web.browser import ARTIFACTS
from tests.web.conftest import page_opener, pages_server

pytestmark = pytest.mark.browser

BASELINES = Path(__file__).resolve().parent / "baselines"
UPDATE = os.environ.get("QIANBAO_UPDATE_BASELINES") == "1"
CHANNEL_TOLERANCE = 40  # of 255, per colour channel
MAX_DIFFERENT = 0.005  # share of the pixels

# (name, path, who is signed in: None, "customer" or "newcomer")
PAGES = [
    ("landing", "/", None),
    ("signup", "/signup", None),
    ("design", "/design", None),  # long: at phone width only
    ("wallet", "/wallet", "customer"),
    ("wallet-new", "/wallet", "newcomer"),
    ("transfer", "/wallet/transfer", "customer"),
    ("history", "/wallet/history", "customer"),
    ("security", "/security", "customer"),
    ("me", "/me", "customer"),
    ("support", "/support", "customer"),
]


@pytest.fixture(scope="module")
def showcase_server(db_factory: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with pages_server(db_factory, tmp_path_factory.mktemp("visual")) as live:
        live.shown = seed(live)
        yield live


@pytest.fixture
def showcase_page(browser: Any, showcase_server: Any) -> Iterator[Any]:
    yield from page_opener(browser, showcase_server)


def _signed_in(open_page: Any, shown: Showcase, who: str | None, locale: str, viewport: str):
    page = open_page(locale=locale, viewport=viewport)
    if who is not None:
        sign_in(page, getattr(shown, who), shown.password)
        page.wait_for_url("**/wallet")
    return page


def _compare(name: str, actual: Path) -> str | None:
    """None when the screenshot matches its baseline, else what is wrong."""
    baseline = BASELINES / f"{name}.png"
    if UPDATE or not baseline.exists():
        BASELINES.mkdir(exist_ok=True)
        Image.open(actual).convert("RGB").save(baseline, optimize=True)
        return None if UPDATE else f"{name}: no baseline yet; recorded one (look at it, commit it)"
    want = Image.open(baseline).convert("RGB")
    got = Image.open(actual).convert("RGB")
    if got.size != want.size:
        return f"{name}: {got.size} instead of {want.size} (see {actual})"
    # A pixel counts as different when one of its channels moved by more than the tolerance.
    diff = ImageChops.difference(got, want).convert("L")
    mask = diff.point(lambda v: 255 if v > CHANNEL_TOLERANCE else 0)
    share = mask.histogram()[255] / (got.size[0] * got.size[1])
    if share <= MAX_DIFFERENT:
        return None
    diff_path = actual.with_name(f"{name}.diff.png")
    mask.save(diff_path)
    return f"{name}: {share:.2%} of the pixels differ (see {actual} and {diff_path})"


@pytest.mark.parametrize("viewport", ["phone", "desktop"])
@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_main_pages_look_as_recorded(showcase_page, showcase_server, locale, viewport):
    shown = showcase_server.shown
    folder = ARTIFACTS / "visual"
    folder.mkdir(parents=True, exist_ok=True)
    pages: dict[str | None, Any] = {}
    problems = []
    for name, path, who in PAGES:
        if name == "design" and viewport != "phone":
            continue
        if who not in pages:
            pages[who] = _signed_in(showcase_page, shown, who, locale, viewport)
        page = pages[who]
        page.goto(path)  # the load event; then the web fonts (networkidle cost 0.5 s a page)
        page.evaluate("document.fonts.ready.then(() => window.scrollTo(0, 0))")
        key = f"{name}-{locale}-{viewport}"
        actual = folder / f"{key}.png"
        page.screenshot(path=str(actual), full_page=True, animations="disabled", caret="hide")
        problem = _compare(key, actual)
        if problem:
            problems.append(problem)
    assert not problems, "\n".join(problems) + "\nIf the changes are wanted: make visual-update"
