"""The browser fixtures, defined once for the whole test session (the root conftest imports them):
the e2e tests and the demo's role tour share one Playwright instance (a second sync Playwright in
the same process refuses to start)."""

from pathlib import Path

import pytest

from conftest import PASSWORD
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, TIMEOUT_MS, screenshot


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


