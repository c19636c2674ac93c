"""Robot calls (DESIGN.md section 3: overdue days 1-30 by the default plan, T+1, T+7, T+15).

The dispatcher hands the due `phone` contacts to call_send_batch: each is one IvrCall through the
voice provider's SDK (outreach.gateways.dyvms), its OutId (our idempotency key) committed before
the hand-over. A call outside overdue days 1-30 by the time it would ring is suppressed.

The provider pushes its call reports (VoiceCallReport) to /outreach/callbacks/voice/, signed like
the SMS receipts (HMAC-SHA256 over "<timestamp>.<body>", 5 minutes). call_reports_record keeps one
CallResult per provider call id (a report pushed twice is kept once) and, in the same
transaction:
- the contact is delivered (answered), failed (not reached) or bounced (wrong number);
- a promise to pay moves the policy's pending contacts past the promised date (reason promised),
  and the planner does the same with steps that fall inside the promise;
- a wrong number marks the mobile failed and publishes contact_bounced (contact repair);
- call_resulted is published with the results, so renewals opens the promise-to-pay follow-up and
  the cases of hardship and dissatisfaction.
"""

import datetime as dt
import hmac
import json
import logging

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.dates import SHANGHAI
from core.errors import ApplicationError
from core.events import CALL_RESULTED, event_publish
from outreach.gateways import GatewayError
from outreach.models import CallResult, PlannedContact
from outreach.selectors import contact_address_masked
from outreach.services.receipts import MAX_AGE, customers_mobile_fail, receipt_signature

logger = logging.getLogger(__name__)
Status, Reason = PlannedContact.Status, PlannedContact.Reason
Outcome = CallResult.Outcome

# robot calls ring in these overdue days only (the default plan's T+1 .. T+30)
OVERDUE_DAYS = (1, 30)
# the prompt each key plays (MenuKeyMap): the provider's approved TTS templates
MENU = {"1": "TTS_RD_PROMISE_3", "2": "TTS_RD_PROMISE_7", "3": "TTS_RD_HARDSHIP", "4": "TTS_RD_SORRY",
        "9": "TTS_RD_WRONG"}


def _voice_gateway() -> dict:
    return {"endpoint": settings.OUTREACH_VOICE_ENDPOINT, "access_key_id": settings.OUTREACH_VOICE_ACCESS_KEY_ID,
            "access_key_secret": settings.OUTREACH_VOICE_ACCESS_KEY_SECRET}


def call_send_batch(contacts: list[PlannedContact], *, now: dt.datetime, gateway: dict | None = None) -> int:
    """One IvrCall per contact (the provider has no batch call for IVR)."""
    from outreach.gateways import dyvms
    from outreach.services.dispatch import _keys_set, _mark_failed, _variables
    from outreach.services.templates import template_pick, templates_current

    gateway = gateway or _voice_gateway()
    client = dyvms.client(endpoint=gateway["endpoint"], access_key_id=gateway["access_key_id"],
                          access_key_secret=gateway["access_key_secret"])
    current = templates_current(channels=["phone"], kinds={c.kind for c in contacts} | {"robot_call"})
    today = now.astimezone(SHANGHAI).date()
    sent = 0
    for contact in contacts:
        holder, installment = contact.policy.holder, contact.installment
        overdue_days = (today - installment.due_date).days
        if not OVERDUE_DAYS[0] <= overdue_days <= OVERDUE_DAYS[1]:
            PlannedContact.objects.filter(pk=contact.pk, status=Status.SENDING).update(
                status=Status.SUPPRESSED, reason=Reason.CALL_WINDOW, updated_at=timezone.now())
            continue
        # a reminder on the phone (the customer's preferred channel) is a robot call too
        template = (template_pick(current, channel="phone", kind=contact.kind, language=holder.language)
                    or template_pick(current, channel="phone", kind="robot_call", language=holder.language))
        if template is None or not holder.phone or (holder.contact_validity or {}).get("phone") == "failed":
            _mark_failed(contact, error="no template" if template is None else "no working phone", now=now,
                         temporary=False)
            continue
        out_id = contact.idempotency_key or f"call:{contact.pk}"
        if not contact.idempotency_key:
            _keys_set({contact.pk: out_id}, template=template)
        # what the voice reads out: no step code, no link (a link is for a screen)
        params = {k: str(v) for k, v in _variables(contact).items() if k not in ("stage_code", "payment_link")}
        try:
            call_id = dyvms.ivr_call(client, called_number=holder.phone, show_number=settings.OUTREACH_VOICE_SHOW_NUMBER,
                                     start_code=template.provider_template_code or settings.OUTREACH_VOICE_START_CODE,
                                     tts_params=params, menu=MENU, out_id=out_id)
        except GatewayError as exc:
            logger.warning("robot call %s failed: %s", contact.pk, exc)
            _mark_failed(contact, error=str(exc), now=now, temporary=exc.temporary)
            continue
        PlannedContact.objects.filter(pk=contact.pk, status=Status.SENDING).update(
            status=Status.SENT, sent_at=now, template_version=template, provider_ref=call_id, error="",
            address=contact_address_masked("phone", holder), updated_at=timezone.now())
        sent += 1
    return sent


def call_reports_apply(*, body: bytes, signature: str, timestamp: str, now: dt.datetime) -> dict:
    """The provider's push (a JSON array of VoiceCallReport items), authenticated before anything
    is read."""
    from outreach.gateways.dyvms import call_report_map

    secret = settings.OUTREACH_VOICE_CALLBACK_SECRET
    if not secret:
        raise ApplicationError(_("Call reports are not configured."), status=403)
    if not hmac.compare_digest(receipt_signature(body=body, timestamp=timestamp or "", secret=secret),
                               (signature or "").strip().lower()):
        raise ApplicationError(_("Bad signature."), status=403)
    try:
        sent_at = dt.datetime.fromtimestamp(int(timestamp), tz=dt.UTC)
    except (TypeError, ValueError, OverflowError):
        raise ApplicationError(_("Bad timestamp."), status=403) from None
    if abs(now - sent_at) > MAX_AGE:
        raise ApplicationError(_("The timestamp is too old."), status=403)
    try:
        items = json.loads(body)
        if not isinstance(items, list):
            raise ValueError
        outcomes = [call_report_map(item) for item in items]
    except (ValueError, KeyError, TypeError):
        raise ApplicationError(_("A JSON array of call reports is expected.")) from None
    return call_reports_record(outcomes=outcomes, now=now)


CONTACT_STATE = {Outcome.NOT_REACHED: Status.FAILED, Outcome.WRONG_NUMBER: Status.BOUNCED}

# the pending contacts of a policy that would go before the day after the promise wait for it
PROMISE_MOVE_SQL = f"""
UPDATE outreach_plannedcontact pc SET planned_at = %(after)s, status = %(planned)s, reason = %(promised)s,
    updated_at = now()
WHERE pc.policy_id = %(policy)s AND pc.status {PlannedContact.PENDING_SQL_IN} AND pc.planned_at < %(after)s
"""


def call_reports_record(*, outcomes: list, now: dt.datetime) -> dict:
    """Reports already authenticated (gateways' CallOutcome), each kept once, with its effects."""
    counts = {"reports": len(outcomes), "recorded": 0}
    with transaction.atomic():
        refs = {o.call_id for o in outcomes}
        contacts = {c.provider_ref: c for c in PlannedContact.objects.filter(
            provider_ref__in=refs, channel="phone").select_related("policy")}
        new_ids, new_outcomes, wrong_holders = [], [], set()
        for o in outcomes:
            contact = contacts.get(o.call_id)
            if contact is None:
                logger.warning("call report for unknown call %s", o.call_id)
                continue
            occurred = o.ended_at or now
            promised_on = (occurred.astimezone(SHANGHAI).date() + dt.timedelta(days=o.promised_in_days)
                           if o.outcome == Outcome.PROMISE else None)
            result, created = CallResult.objects.get_or_create(provider_id=o.call_id, defaults={
                "contact": contact, "policy_id": contact.policy_id, "customer_id": contact.policy.holder_id,
                "outcome": o.outcome, "promised_on": promised_on, "duration_seconds": o.duration_seconds,
                "provider_status": o.status_code[:16], "keys": o.dtmf[:16], "occurred_at": occurred})
            if not created:
                continue
            new_ids.append(result.pk)
            new_outcomes.append(o.outcome)
            state = CONTACT_STATE.get(o.outcome, Status.DELIVERED)
            PlannedContact.objects.filter(pk=contact.pk).update(
                status=state, delivered_at=occurred if state == Status.DELIVERED else None,
                error="" if state == Status.DELIVERED else o.status_code, updated_at=timezone.now())
            if promised_on is not None:
                contacts_move_past_promise(policy_id=contact.policy_id, promised_on=promised_on)
            if o.outcome == Outcome.WRONG_NUMBER:
                wrong_holders.add(contact.policy.holder_id)
        if wrong_holders:
            customers_mobile_fail(customer_ids=sorted(wrong_holders), as_of=now.astimezone(SHANGHAI).date())
        if new_ids:
            results = CallResult.objects.filter(pk__in=new_ids)
            event_publish(CALL_RESULTED, as_of=now.astimezone(SHANGHAI).date(), record_ids=new_ids,
                          policy_ids={r.policy_id for r in results}, source="robot_call")
    counts["recorded"] = len(new_ids)
    for outcome in Outcome:
        counts[outcome.value] = new_outcomes.count(outcome.value) if new_ids else 0
    return counts


def promise_resume_at(promised_on: dt.date) -> dt.datetime:
    """The first moment after a promise: the day after, when the quiet hours end."""
    hh, mm = (int(x) for x in settings.OUTREACH_QUIET_END.split(":"))
    return dt.datetime.combine(promised_on + dt.timedelta(days=1), dt.time(hh, mm), tzinfo=SHANGHAI)


def contacts_move_past_promise(*, policy_id: int, promised_on: dt.date) -> int:
    with connection.cursor() as cursor:
        cursor.execute(PROMISE_MOVE_SQL, {"after": promise_resume_at(promised_on), "planned": Status.PLANNED.value,
                                          "promised": Reason.PROMISED.value, "policy": policy_id})
        return cursor.rowcount
