"""The reminders of the demo's days (issue 13). Every date, after the night planned the day's
contacts, the dispatcher sends what is due by 20:00 through the product's own sending path: SMS
in batch calls (100 numbers a request) to an in-process fake of the provider that speaks its
protocol, e-mail through a Django backend that accepts and drops (no SMTP server runs during a
demo build). The provider's answers come back in bulk: most texts delivered, a few failed, about
one in a hundred numbers gone (a bounce: the mobile is marked failed and contact repair opens for
whoever has no other channel), and a few customers reply TD (an opt-out, with its trail). Robot
calls (overdue days 1-30) ring through the voice provider's SDK against its in-process fake, and
their reports come back in one bulk call with every outcome: not reached, reached, promises to pay
(the next step moves, the workbench's follow-up opens), hardship and dissatisfaction (a case),
wrong numbers (contact repair). Choices are a pure function of (seed, contact or customer id):
the same demo gives the same story."""

import datetime as dt
import hashlib
from collections import Counter

from django.core.mail import get_connection

from core.dates import SHANGHAI
from outreach.models import ConsentChange, PlannedContact
from outreach.services.consent import customers_opt_out
from outreach.services.dispatch import contacts_dispatch
from outreach.services.receipts import sms_receipts_record

BOUNCE_PER_THOUSAND = 8  # MOBILE_NOT_EXIST: the number is gone
FAILED_PER_THOUSAND = 25  # a phone off for days, a full inbox
OPT_OUT_PER_THOUSAND = 6  # a reply TD to a text

# the robot calls' answers, per thousand: (upper bound, VoiceCallReport status, keys pressed)
CALL_OUTCOMES = ((330, "200005", ""), (630, "200000", ""), (780, "200000", "1"), (860, "200000", "2"),
                 (920, "200000", "3"), (970, "200000", "4"), (985, "200000", "9"), (1000, "200007", ""))

_fake = None
_voice = None


KEY_FIELDS = ("policy__policy_no", "installment__sequence", "stage_code", "kind", "channel")
BY_CONTACT = KEY_FIELDS


def _pick(*parts) -> int:
    return int(hashlib.sha256(":".join(str(p) for p in parts).encode()).hexdigest()[:8], 16) % 1000


def _gateway() -> dict:
    """The in-process fake provider, started once per build."""
    global _fake
    if _fake is None:
        from outreach.fake_gateway import FakeDysms

        _fake = FakeDysms(access_key_id="demo-key", secret="demo-secret")
        _fake.endpoint = _fake.start()
        _fake.messages = _Discard()  # keep no copies: a build sends tens of thousands
    return {"endpoint": _fake.endpoint, "access_key_id": "demo-key", "access_key_secret": "demo-secret", "rate": 0}


def _voice_gateway() -> dict:
    """The in-process fake voice provider (IvrCall through the SDK), started once per build."""
    global _voice
    if _voice is None:
        from outreach.fake_voice import FakeDyvms

        _voice = FakeDyvms(access_key_id="demo-key", secret="demo-secret")
        _voice.endpoint = _voice.start()
        _voice.calls = _Discard()
    return {"endpoint": _voice.endpoint, "access_key_id": "demo-key", "access_key_secret": "demo-secret"}


def _call_reports(*, seed, evening: dt.datetime, counts: Counter) -> None:
    from outreach.gateways.dyvms import call_report_map
    from outreach.services.calls import call_reports_record

    # keyed and ordered by what the contact is, never by its id (simulation.actors, BY_LINE)
    calls = list(PlannedContact.objects.filter(channel="phone", status=PlannedContact.Status.SENT, sent_at=evening)
                 .order_by(*BY_CONTACT).values_list(*KEY_FIELDS, "provider_ref"))
    end = (evening + dt.timedelta(minutes=2)).strftime("%Y-%m-%d %H:%M:%S")
    outcomes = []
    for *key, call_id in calls:
        roll = _pick(seed, "call", *key)
        status, keys = next((st, k) for bound, st, k in CALL_OUTCOMES if roll < bound)
        outcomes.append(call_report_map({"call_id": call_id, "status_code": status, "dtmf": keys,
                                         "duration": 20 + roll % 70 if status == "200000" else 0, "end_time": end}))
    if outcomes:
        recorded = call_reports_record(outcomes=outcomes, now=evening + dt.timedelta(minutes=5))
        for key in ("not_reached", "reached", "promise", "hardship", "dissatisfied", "wrong_number"):
            counts[f"calls_{key}"] += recorded[key]


class _Discard(list):
    def append(self, _item) -> None:  # the history is in the outbox, not in memory
        pass


def _dummy_mail(**kwargs):
    return get_connection("django.core.mail.backends.dummy.EmailBackend", **kwargs)


def day(*, world, day, previous, end, cast, counts: Counter, working) -> None:
    seed = world.seed
    evening = dt.datetime.combine(day, dt.time(20, 0), tzinfo=SHANGHAI)
    result = contacts_dispatch(now=evening, email_connection_factory=_dummy_mail, sms_gateway=_gateway(),
                               voice_gateway=_voice_gateway())
    counts["reminders_sent"] += result["sent"]
    _call_reports(seed=seed, evening=evening, counts=counts)
    # the provider's receipts for the day's texts, one bulk call
    texts = [(tuple(key), biz_id, phone, holder) for *key, biz_id, phone, holder in PlannedContact.objects.filter(
        channel="sms", status=PlannedContact.Status.SENT, sent_at=evening).order_by(*BY_CONTACT).values_list(
        *KEY_FIELDS, "provider_ref", "policy__holder__phone", "policy__holder_id")]
    rows = []
    for key, biz_id, phone, _holder in texts:
        roll = _pick(seed, "receipt", *key)
        if roll < BOUNCE_PER_THOUSAND:
            rows.append((biz_id, phone, False, "MOBILE_NOT_EXIST"))
        elif roll < BOUNCE_PER_THOUSAND + FAILED_PER_THOUSAND:
            rows.append((biz_id, phone, False, "DELIVRD_TIMEOUT"))
        else:
            rows.append((biz_id, phone, True, "DELIVERED"))
    if rows:
        receipt = sms_receipts_record(rows=rows, now=evening + dt.timedelta(minutes=3))
        for key in ("delivered", "failed", "bounced"):
            counts[f"reminders_{key}"] += receipt[key]
    # a few reply TD to the text (those whose number still works)
    repliers = sorted({holder for key, _b, phone, holder in texts
                       if BOUNCE_PER_THOUSAND <= _pick(seed, "receipt", *key) and _pick(seed, "reply", phone, day)
                       < OPT_OUT_PER_THOUSAND})
    if repliers:
        counts["reminders_opt_outs"] += customers_opt_out(
            customer_ids=repliers, channel="sms", source=ConsentChange.Source.SMS_REPLY,
            occurred_at=evening + dt.timedelta(minutes=40), detail="TD")
