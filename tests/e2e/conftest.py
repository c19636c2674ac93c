"""Browser fixtures: the system Chromium driven by Playwright's sync API against pytest-django's
live_server (real PostgreSQL, no mocks). Playwright's own browser download does not work on the
project's machines, so the system Chromium is launched (SETUP-NOTES.md)."""

import os
import re
from pathlib import Path

from django.conf import settings

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
