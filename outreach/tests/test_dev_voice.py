"""bin/dev's robot calls get their outcomes: the fake voice provider that outreach_dev_servers
starts pushes each call's report to our callback, signed with the development secret that only the
development settings make (production has none: its reports are refused until a real one is set)."""

import datetime as dt
import io
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from outreach.fake_voice import spread_outcome
from outreach.management.commands.outreach_dev_servers import Command
from outreach.models import CallResult, PlannedContact
from outreach.services.dispatch import contacts_dispatch
from outreach.tests.conftest import at, plan

BASE_DIR = Path(__file__).resolve().parents[2]
CALL = {"code": "T+1", "kind": "robot_call", "step_id": 11, "date": dt.date(2026, 12, 1)}


def _wait_for(condition, seconds: float = 90.0):
    """Until the condition holds (polled every 0.1 s); the deadline only ends a test that would
    otherwise hang: under a heavy load the fake's push has taken more than 20 s to arrive."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


@pytest.mark.django_db(transaction=True)
def test_the_dev_voice_fake_pushes_each_calls_outcome_to_our_callback(live_server, gz, channel_templates, settings,
                                                                      tmp_path):
    # given bin/dev's fakes, the voice one pushing to our callback with the development secret
    settings.OUTREACH_DEV_INBOX = str(tmp_path / "inbox.jsonl")
    settings.OUTREACH_VOICE_CALLBACK_SECRET = "a-development-secret-of-this-checkout"
    command = Command(stdout=io.StringIO(), stderr=io.StringIO())
    fakes = command._channels({"voice_port": 0, "wechat_port": 0, "push_port": 0, "voice_report_delay": 0,
                               "voice_callback": f"{live_server.url}/outreach/callbacks/voice/"})
    voice = fakes[0]
    settings.OUTREACH_VOICE_ENDPOINT = voice.endpoint
    try:
        voice.script["13812345678"] = ("200000", "1", 42)  # 张伟 presses 1: I pay within 3 days
        # a push our server refuses (signed with another secret) is not retried and changes nothing
        voice.callback_secret = "not-the-secret"
        plan(CALL)
        assert contacts_dispatch(now=at(2026, 12, 1, 10, 0))["sent"] == 1
        assert _wait_for(lambda: len(voice.pushes) == 1)
        assert voice.pushes == [(403, 1)] and not CallResult.objects.exists()
        assert PlannedContact.objects.get(stage_code="T+1").status == "sent"
        # when the dispatcher rings the next robot call, the provider's push signed as bin/dev signs it
        voice.callback_secret = "a-development-secret-of-this-checkout"
        plan({**CALL, "code": "T+7", "step_id": 17, "date": dt.date(2026, 12, 7)})
        assert contacts_dispatch(now=at(2026, 12, 7, 10, 0))["sent"] == 1
        # then its report arrives by itself (our answer to the push comes after the result is
        # committed), and the call has its outcome
        assert _wait_for(lambda: len(voice.pushes) == 2), voice.pushes
        assert CallResult.objects.exists(), voice.pushes
        result = CallResult.objects.get()
        assert (result.outcome, result.duration_seconds, result.keys) == ("promise", 42, "1")
        assert PlannedContact.objects.get(stage_code="T+7").status == "delivered"
        assert voice.pushes == [(403, 1), (200, 1)]
    finally:
        for fake in fakes:
            fake.stop()


def test_without_a_script_the_calls_get_every_outcome():
    outcomes = Counter(spread_outcome(f"{n}^{n:08d}")[:2] for n in range(2000))
    assert set(outcomes) == {("200005", ""), ("200000", ""), ("200000", "1"), ("200000", "2"), ("200000", "3"),
                             ("200000", "4"), ("200000", "9"), ("200007", "")}
    assert spread_outcome("42^00000001") == spread_outcome("42^00000001")  # the same call, the same answer


def _setting(module: str, name: str, **env: str) -> str:
    environment = {k: v for k, v in os.environ.items()
                   if k not in ("DJANGO_SETTINGS_MODULE", "OUTREACH_VOICE_CALLBACK_SECRET", "DEV_SECRETS_DIR")}
    environment.update(DJANGO_SETTINGS_MODULE=module, **env)
    code = f"from django.conf import settings; print(settings.{name})"
    result = subprocess.run([sys.executable, "-c", code], cwd=BASE_DIR, env=environment, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_only_the_development_settings_have_a_voice_callback_secret(tmp_path):
    # bin/dev's settings make a random secret once per checkout; every process reads the same one
    first = _setting("config.settings.dev", "OUTREACH_VOICE_CALLBACK_SECRET", DEV_SECRETS_DIR=str(tmp_path))
    again = _setting("config.settings.dev", "OUTREACH_VOICE_CALLBACK_SECRET", DEV_SECRETS_DIR=str(tmp_path))
    assert len(first) == 64 and first == again
    assert (tmp_path / "voice-callback").stat().st_mode & 0o077 == 0  # readable by its owner only
    # the environment's value wins
    assert _setting("config.settings.dev", "OUTREACH_VOICE_CALLBACK_SECRET", DEV_SECRETS_DIR=str(tmp_path),
                    OUTREACH_VOICE_CALLBACK_SECRET="from-the-environment") == "from-the-environment"
    # production: no default, so every call report is refused until a real secret is set
    assert _setting("config.settings.prod", "OUTREACH_VOICE_CALLBACK_SECRET", SECRET_KEY="x" * 50,
                    ALLOWED_HOSTS="renewal.example.cn") == ""
    assert not (BASE_DIR / "config" / "settings" / "prod.py").read_text().count("dev_secret")
