"""Every demo user, signed in on the built demo in a real browser: lands on its own work, and
every page its menu offers opens in Chinese without an error. Screenshots of each land in
test-artifacts/ (tour-<user>-*.png) for people to look at."""

import pytest

from policies.services.demo import DEMO_PASSWORD
from tests.e2e.conftest import screenshot

# the built demo is a session fixture: its tests share one xdist worker (bin/test --dist loadgroup)
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.xdist_group("demo")]

# user -> what their home page must say it is (the role's own work, in Chinese)
USERS = ["clerk", "lead", "manager", "finance", "risk", "auditor", "underwriter", "claims", "admin"]
ERROR_MARKS = ("Traceback", "Server Error", "服务器错误", "页面出错", "Page not found")
@pytest.mark.parametrize("username", USERS)
def test_each_demo_user_lands_on_its_work_and_every_menu_page_opens(demo_db, live_server, page, login, username):
    login(page, username, password=DEMO_PASSWORD)
    home = page.url
    body = page.locator("body").inner_text()
    assert not any(mark in body for mark in ERROR_MARKS), (username, home)
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    screenshot(page, f"tour-{username}-home")
    links = page.locator("nav a.nav-link[href^='/']")
    hrefs = list(dict.fromkeys(links.nth(i).get_attribute("href") for i in range(links.count())))
    assert hrefs, f"{username} has no menu"
    visited = []
    for href in hrefs:
        if href.startswith(("/accounts/logout", "/admin/")):
            continue
        response = page.goto(live_server.url + href)
        assert response is not None and response.status == 200, (username, href, response and response.status)
        body = page.locator("body").inner_text()
        assert not any(mark in body for mark in ERROR_MARKS), (username, href)
        visited.append(href)
        screenshot(page, f"tour-{username}-{href.strip('/').replace('/', '-') or 'root'}")
    assert visited
