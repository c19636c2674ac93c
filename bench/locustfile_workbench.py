"""The simulated clerks of bench/workbench.py (run through it; it sets WB_PASSWORD, WB_CLERKS,
WB_CLAIMED). Each user is one bench clerk (wbclerk01..): logs in through the login page, then works
like a person, pausing 1-3 s between actions: the queue page (and its counts, as HTMX loads them),
"next case" (the API, the clerk's token), the outcome of the call (not reached: the case waits for the next working day).

Every case handed out is remembered: a case handed to two clerks is a duplicate, written with the
count of claims to WB_CLAIMED when the test stops."""

import itertools
import json
import os
import re

from locust import FastHttpUser, between, events, task

PASSWORD = os.environ.get("WB_PASSWORD", "")
CLERKS = int(os.environ.get("WB_CLERKS", "30"))
_numbers = itertools.cycle(range(1, CLERKS + 1))
CSRF_RE = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
claimed: dict[int, str] = {}
duplicates: list[dict] = []


class Clerk(FastHttpUser):
    wait_time = between(1, 3)

    def on_start(self):
        number = next(_numbers)
        self.username = f"wbclerk{number:02d}"
        self.api = {"Authorization": "Token " + f"{number:02d}".ljust(40, "0")}
        page = self.client.get("/accounts/login/", name="login")
        token = CSRF_RE.search(page.text).group(1)
        with self.client.post("/accounts/login/", name="login", catch_response=True, allow_redirects=False,
                              data={"username": self.username, "password": PASSWORD,
                                    "csrfmiddlewaretoken": token},
                              headers={"Referer": f"{self.host}/accounts/login/"}) as response:
            if response.status_code != 302:
                response.failure(f"login of {self.username}: {response.status_code}")

    @task
    def work_one_case(self):
        self.client.get("/renewals/cases/", name="GET queue page")
        # what the browser does next: the tabs' counts, loaded by HTMX
        self.client.get("/renewals/cases/counts/?queue=mine", name="GET queue counts",
                        headers={"HX-Request": "true"})
        self.wait()
        case_id = None
        with self.client.post("/api/v1/cases/claim-next/", headers=self.api, name="POST claim-next",
                              catch_response=True) as response:
            if response.status_code == 200:
                case_id = response.json()["id"]
                if case_id in claimed:
                    duplicates.append({"case": case_id, "first": claimed[case_id], "again": self.username})
                    response.failure(f"case {case_id} handed out twice")
                claimed[case_id] = self.username
            elif response.status_code != 204:
                response.failure(f"claim-next: {response.status_code}")
        if case_id is None:
            return
        self.wait()
        self.client.post(f"/api/v1/cases/{case_id}/outcome/", headers=self.api, name="POST outcome",
                         json={"channel": "phone", "reached": False, "outcome": "no_answer"})


@events.test_stop.add_listener
def _write_claims(environment, **_kwargs):
    path = os.environ.get("WB_CLAIMED")
    if path:
        with open(path, "w") as f:
            json.dump({"claims": len(claimed) + len(duplicates), "duplicates": duplicates}, f)
