import time
import pytest
from conftest import PASSWORD
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

def test_probe(live_server, portfolio, make_user, new_page):
    make_user("clerk_gz", ["clerk"], ["GD-GZ"])
    for i in range(2):
        page = new_page()
        page.on("request", lambda r: print(" req", round(time.monotonic()-T0,2), r.method, r.url))
        page.on("requestfinished", lambda r: print(" fin", round(time.monotonic()-T0,2), r.url))
        T0 = time.monotonic()
        t=time.monotonic(); page.goto(f"{live_server.url}/accounts/login/"); print("goto login", time.monotonic()-t)
        page.fill("input[name=username]", "clerk_gz")
        page.fill("input[name=password]", PASSWORD)
        t=time.monotonic()
        with page.expect_navigation():
            page.click("main form button[type=submit]")
        print("submit", time.monotonic()-t)
