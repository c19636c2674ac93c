import time
import pytest
from tests.e2e.conftest import screenshot
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

def test_probe(live_server, portfolio, make_user, page, login):
    make_user("clerk_gz", ["clerk"], ["GD-GZ"])
    t=time.monotonic(); login(page, "clerk_gz"); print("login", time.monotonic()-t)
    for i in range(3):
        t=time.monotonic(); page.goto(f"{live_server.url}/policies/8860000000000001/"); print("goto", time.monotonic()-t)
    page.on("requestfinished", lambda r: print(r.url, r.timing["responseEnd"]))
    t=time.monotonic(); page.goto(f"{live_server.url}/policies/"); print("goto search", time.monotonic()-t)
    t=time.monotonic(); screenshot(page, "probe"); print("shot", time.monotonic()-t)
