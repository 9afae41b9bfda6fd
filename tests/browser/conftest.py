"""Playwright fixtures: one headless Debian chromium per session, a fresh context per test.

Use `page` for a single browser tab on the threaded `live_server`, `new_context()` for more
users at once (each context has its own cookies), and `screenshot(page, name)` to save
var/screenshots/<name>.png.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-dev-shm-usage",
]
SCREENSHOT_DIR = Path(__file__).resolve().parents[2] / "var" / "screenshots"
DESKTOP = {"width": 1280, "height": 860}
MOBILE = {"width": 375, "height": 812}


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """A headless chromium shared by the session's browser tests."""
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium not installed: apt-get install chromium")
    # Playwright's sync API runs an event loop in this thread; Django's ORM calls made by the
    # tests themselves would otherwise be refused as "async unsafe".
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield instance
        instance.close()


@pytest.fixture
def new_context(browser, live_server) -> Iterator[Callable[..., object]]:
    """Open browser contexts (separate cookie jars) on the live server; closed after the test."""
    contexts = []

    def make(viewport: dict[str, int] | None = None, **kwargs: object) -> object:
        context = browser.new_context(
            base_url=live_server.url, viewport=viewport or DESKTOP, **kwargs
        )
        context.set_default_timeout(5_000)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_context) -> object:
    """A tab in a fresh desktop-sized context."""
    return new_context().new_page()


@pytest.fixture
def screenshot() -> Callable[[object, str], Path]:
    """Save a full-page screenshot as var/screenshots/<name>.png."""
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)

    def take(page: object, name: str) -> Path:
        path = SCREENSHOT_DIR / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


@pytest.fixture
def log_in(live_server) -> Callable[[object, str, str], None]:
    """Sign a page in through the login form."""

    def do(page: object, email: str, password: str) -> None:
        page.goto("/accounts/login/")
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password", exact=True).fill(password)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(f"{live_server.url}/")

    return do
