"""Browser fixtures: the system Chromium driven by Playwright's sync API against pytest-django's
live_server (real PostgreSQL, no mocks). Playwright's own browser download does not work on the
project's machines, so the system Chromium is launched (SETUP-NOTES.md)."""

import os
import re
from pathlib import Path

import pytest
from django.conf import settings

from conftest import PASSWORD

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic",
]
ARTIFACTS = Path(settings.BASE_DIR) / "test-artifacts"
TIMEOUT_MS = 10_000


def zh_catalog_compiled() -> bool:
    """Whether the Chinese catalog is compiled (bin/setup runs compilemessages). Without it the
    Chinese pages show the English source strings, so Chinese-mode tests assert structure only."""
    return any((Path(p) / "zh_Hans" / "LC_MESSAGES" / "django.mo").exists() for p in settings.LOCALE_PATHS)


@pytest.fixture(scope="session")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def new_page(browser):
    """A page in a fresh browser context (its own cookies: one person at one desk)."""
    contexts = []

    def make():
        context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page):
    return new_page()


@pytest.fixture
def login(live_server):
    """Signs a user in through the login form; the page ends on the page after sign-in."""

    def do(page, username: str, password: str = PASSWORD, next_url: str = "", screenshot_as: str = ""):
        url = f"{live_server.url}/accounts/login/" + (f"?next={next_url}" if next_url else "")
        page.goto(url)
        if screenshot_as:
            screenshot(page, screenshot_as)
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", password)
        with page.expect_navigation():
            page.click("main form button[type=submit]")
        assert "/accounts/login/" not in page.url, f"sign-in of {username} failed: {page.url}"

    return do


def switch_language(page, language: str) -> None:
    """Press the language button in the top bar (a POST that comes back to the same page)."""
    if page.locator("html").get_attribute("lang") == ("zh-CN" if language == "zh-hans" else "en"):
        return
    with page.expect_navigation():
        page.click("#language-switch button[name=language]")
    expected = "zh-CN" if language == "zh-hans" else "en"
    assert page.locator("html").get_attribute("lang") == expected


def screenshot(page, name: str, *, element=None) -> Path:
    """The whole page, or one element of it. A full-page shot resizes the page's viewport and
    back, and the first click after it can be lost (seen: a form's submit did nothing): before a
    click in the same page, shoot the element instead (no resize)."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{re.sub(r'[^A-Za-z0-9_.-]+', '-', name)}.png"
    if element is not None:
        element.screenshot(path=str(path))
    else:
        page.screenshot(path=str(path), full_page=True)
    return path
