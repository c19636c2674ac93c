import datetime as dt
import email
import email.policy
import socket
import threading
from zoneinfo import ZoneInfo

import pytest
from django.db import connection

from billing.models import Installment
from billing.services.schedules import installments_extend_chunk
from billing.tests.platform_fixtures import platform_keys, platforms  # noqa: F401 (payment links)
from outreach.services.planning import contacts_plan
from policies.models import Policy

SH = ZoneInfo("Asia/Shanghai")
GZ = "8860000000000001"  # 张伟, 13812345678, zhang@example.cn; monthly 300.00: k82 due 2026-11-30, k83 2026-12-31
BJ = "8860000000000002"  # 王芳, 13987654321, no e-mail


def at(y, m, d, hh=0, mm=0) -> dt.datetime:
    """A moment in Asia/Shanghai."""
    return dt.datetime(y, m, d, hh, mm, tzinfo=SH)


def due_rows(*rows: dict) -> tuple[str, dict]:
    """A due-steps SELECT (outreach.services.planning.DUE_COLUMNS) over literal rows."""
    values, params = [], {}
    for n, row in enumerate(rows):
        policy = Policy.objects.get(policy_no=row.get("policy_no", GZ))
        installment = Installment.objects.get(policy=policy, sequence=row.get("sequence", 82))
        params.update({f"p{n}": policy.pk, f"i{n}": installment.pk, f"h{n}": policy.holder_id,
                       f"s{n}": row.get("step_id", 1), f"c{n}": row.get("code", "T+1"),
                       f"k{n}": row.get("kind", "reminder"), f"ch{n}": row.get("channel", ""),
                       f"u{n}": row.get("urgent", False), f"d{n}": row.get("date", dt.date(2026, 12, 1))})
        values.append(f"(%(p{n})s::bigint, %(i{n})s::bigint, %(h{n})s::bigint, %(s{n})s::bigint, %(c{n})s::text, "
                      f"%(k{n})s::text, %(ch{n})s::text, %(u{n})s::boolean, %(d{n})s::date)")
    sql = ("SELECT * FROM (VALUES " + ", ".join(values) + ") v(policy_id, installment_id, holder_id, step_id, "
           "stage_code, kind, channel, urgent, step_date)")
    return sql, params


def plan(*rows: dict) -> int:
    sql, params = due_rows(*rows)
    with connection.cursor():
        return contacts_plan(due_sql=sql, params=params)


@pytest.fixture
def schedules(portfolio):
    """The installments through 2026-11-25 + 13 months, as the nightly run makes them."""
    ids = Policy.objects.values_list("pk", flat=True)
    installments_extend_chunk(as_of=dt.date(2026, 11, 25), id_from=min(ids), id_to=max(ids))


@pytest.fixture
def gz(schedules):
    return Policy.objects.get(policy_no=GZ)


class Inbox:
    """What the local SMTP server received."""

    def __init__(self):
        self.messages = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd's hook
        with self.lock:
            self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp_server(settings):
    """A real SMTP server on localhost (aiosmtpd); Django's SMTP backend sends to it."""
    from aiosmtpd.controller import Controller

    inbox = Inbox()
    port = free_port()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", port, 5

    def start():  # a stopped controller cannot be started again: a new one on the same port
        inbox.controller = Controller(inbox, hostname="127.0.0.1", port=port)
        inbox.controller.start()

    def stop():
        inbox.controller.stop()
        inbox.controller = None

    inbox.start, inbox.stop = start, stop
    start()
    yield inbox
    if inbox.controller is not None:
        stop()


@pytest.fixture
def default_templates(db):
    """The shipped templates (a flushed database lost the migration's rows)."""
    from outreach.models import MessageTemplate
    from outreach.templates_default import DEFAULTS

    for row in DEFAULTS:
        MessageTemplate.objects.get_or_create(channel=row["channel"], kind="reminder", language=row["language"],
                                              version=1, defaults={**row, "active": True})
    MessageTemplate.objects.filter(channel="sms").update(approval=MessageTemplate.Approval.APPROVED)


@pytest.fixture
def sms_gateway(settings):
    """The local fake Dysms gateway; the dispatcher's SMS go to it."""
    from outreach.fake_gateway import FakeDysms

    fake = FakeDysms(access_key_id="test-key", secret="test-secret")
    settings.OUTREACH_SMS_ENDPOINT = fake.start()
    settings.OUTREACH_SMS_ACCESS_KEY_ID, settings.OUTREACH_SMS_ACCESS_KEY_SECRET = "test-key", "test-secret"
    settings.OUTREACH_SMS_RATE = 0  # no pacing in tests
    yield fake
    fake.stop()


@pytest.fixture
def channel_templates(default_templates):
    """The shipped robot-call, WeChat and app templates and the channel budgets (issue 16)."""
    from outreach.models import ChannelBudget, MessageTemplate
    from outreach.templates_default import BUDGET_DEFAULTS, CHANNEL_DEFAULTS

    for row in CHANNEL_DEFAULTS:
        MessageTemplate.objects.get_or_create(
            channel=row["channel"], kind=row["kind"], language=row["language"], version=1,
            defaults={**row, "active": True, "approval": "approved" if row["channel"] == "phone" else "not_needed"})
    for row in BUDGET_DEFAULTS:
        ChannelBudget.objects.get_or_create(channel=row["channel"], defaults=row)


@pytest.fixture
def voice_gateway(settings):
    """The local fake Aliyun Dyvms (IvrCall through the provider's SDK); call reports signed with
    voice-secret."""
    from outreach.fake_voice import FakeDyvms

    fake = FakeDyvms(access_key_id="test-key", secret="test-secret")
    settings.OUTREACH_VOICE_ENDPOINT = fake.start()
    settings.OUTREACH_VOICE_ACCESS_KEY_ID, settings.OUTREACH_VOICE_ACCESS_KEY_SECRET = "test-key", "test-secret"
    settings.OUTREACH_VOICE_CALLBACK_SECRET = "voice-secret"
    yield fake
    fake.stop()


@pytest.fixture
def wechat_gateway(settings):
    from outreach.fake_channels import FakeWeChat

    fake = FakeWeChat(app_id="wx-test", app_secret="wx-secret", templates=("RD_RENEWAL_REMINDER",))
    settings.OUTREACH_WECHAT_ENDPOINT = fake.start()
    settings.OUTREACH_WECHAT_APP_ID, settings.OUTREACH_WECHAT_APP_SECRET = "wx-test", "wx-secret"
    yield fake
    fake.stop()


@pytest.fixture
def push_gateway(settings):
    from outreach.fake_channels import FakeGetui

    fake = FakeGetui(app_id="app-test", app_key="push-key", master_secret="push-secret")
    settings.OUTREACH_APP_PUSH_ENDPOINT = fake.start()
    settings.OUTREACH_APP_PUSH_APP_ID = "app-test"
    settings.OUTREACH_APP_PUSH_APP_KEY, settings.OUTREACH_APP_PUSH_MASTER_SECRET = "push-key", "push-secret"
    yield fake
    fake.stop()
