"""The dispatcher: sends what is due, once.

A pass (1) moves contacts due in the quiet hours to the next window, (2) claims a batch of due
contacts with one conditional UPDATE over SELECT ... FOR UPDATE SKIP LOCKED (status -> sending,
committed at once), so two workers, or one run twice, never take the same contact, (3) sends each
through its channel's gateway and marks it sent with the template version it used.

A contact stays `sending` once handed to a gateway: if the worker dies after the hand-over and
before the mark, it is not sent again (a duplicate reminder is the visible mistake; a missing one
is found on the timeline).
"""

import datetime as dt
import hashlib
import logging
import smtplib
import time
from collections.abc import Iterable

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import connection, transaction
from django.utils import timezone

from outreach.models import PlannedContact
from outreach.selectors import contact_address_masked
from outreach.services.planning import contacts_window_apply
from outreach.services.templates import template_pick, template_render, templates_current

logger = logging.getLogger(__name__)
Status = PlannedContact.Status

CLAIM_SQL = """
UPDATE outreach_plannedcontact pc SET status = %(sending)s, attempts = pc.attempts + 1, updated_at = now()
WHERE pc.id IN (SELECT id FROM outreach_plannedcontact
                WHERE status = ANY(%(pending)s) AND planned_at <= %(now)s AND channel = ANY(%(channels)s)
                ORDER BY planned_at, id LIMIT %(limit)s
                FOR UPDATE SKIP LOCKED)
  AND pc.status = ANY(%(pending)s)
RETURNING pc.id
"""

# a temporary failure (the server down, a timeout) is tried again after this, then given up
RETRY_DELAYS = (dt.timedelta(minutes=1), dt.timedelta(minutes=5), dt.timedelta(minutes=15), dt.timedelta(hours=1))


def contacts_claim(*, now: dt.datetime, channels: Iterable[str], limit: int) -> list[int]:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(CLAIM_SQL, {"sending": Status.SENDING.value, "now": now, "limit": limit,
                                   "pending": [s.value for s in PlannedContact.PENDING_STATUSES],
                                   "channels": list(channels)})
        return sorted(row[0] for row in cursor.fetchall())


def _variables(contact: PlannedContact) -> dict:
    policy, installment = contact.policy, contact.installment
    return {"name": policy.holder.name, "policy_no": policy.policy_no, "product": policy.product.name,
            "amount": f"{installment.amount_due - installment.amount_paid:.2f}", "due_date": installment.due_date,
            "grace_end": installment.grace_end, "stage_code": contact.stage_code}


def _mark_sent(contact: PlannedContact, *, template, address: str, provider_ref: str = "") -> None:
    PlannedContact.objects.filter(pk=contact.pk, status=Status.SENDING).update(
        status=Status.SENT, sent_at=timezone.now(), template_version=template, address=address,
        provider_ref=provider_ref, error="", updated_at=timezone.now())


def _mark_failed(contact: PlannedContact, *, error: str, now: dt.datetime, temporary: bool) -> None:
    """A temporary failure goes back to planned, later (backoff by attempts); a permanent one, or
    the last attempt, is failed."""
    if temporary and contact.attempts <= len(RETRY_DELAYS):
        PlannedContact.objects.filter(pk=contact.pk, status=Status.SENDING).update(
            status=Status.PLANNED, planned_at=now + RETRY_DELAYS[contact.attempts - 1], error=error[:256],
            updated_at=timezone.now())
    else:
        PlannedContact.objects.filter(pk=contact.pk, status=Status.SENDING).update(
            status=Status.FAILED, error=error[:256], updated_at=timezone.now())


def _load(ids: list[int]) -> list[PlannedContact]:
    return list(PlannedContact.objects.filter(pk__in=ids, status=Status.SENDING)
                .select_related("policy__holder", "policy__product", "installment").order_by("planned_at", "pk"))


def email_send_batch(contacts: list[PlannedContact], *, now: dt.datetime) -> int:
    """E-mail through Django's backend (SMTP), one connection for the batch."""
    current = templates_current(channels=["email"], kinds={c.kind for c in contacts})
    sent = 0
    try:
        mail = get_connection(fail_silently=False)
        mail.open()
    except (OSError, smtplib.SMTPException) as exc:  # the server is down: every contact later
        for contact in contacts:
            _mark_failed(contact, error=f"smtp: {exc}", now=now, temporary=True)
        return 0
    try:
        for contact in contacts:
            holder = contact.policy.holder
            template = template_pick(current, channel="email", kind=contact.kind, language=holder.language)
            if template is None or not holder.email:
                _mark_failed(contact, error="no template" if template is None else "no address", now=now,
                             temporary=False)
                continue
            subject, body = template_render(template, _variables(contact))
            message = EmailMessage(subject=subject, body=body, to=[holder.email], connection=mail,
                                   headers={"X-Contact-Id": str(contact.pk)})  # the idempotency key
            try:
                message.send()
            except smtplib.SMTPRecipientsRefused as exc:
                _mark_failed(contact, error=f"smtp: {exc}", now=now, temporary=False)
                continue
            except (OSError, smtplib.SMTPException) as exc:
                _mark_failed(contact, error=f"smtp: {exc}", now=now, temporary=True)
                continue
            _mark_sent(contact, template=template, address=contact_address_masked("email", holder))
            sent += 1
    finally:
        try:
            mail.close()
        except (OSError, smtplib.SMTPException):
            pass
    return sent


SENT_SQL = """
UPDATE outreach_plannedcontact pc SET status = %(sent)s, sent_at = now(), template_version_id = %(template)s,
    provider_ref = %(ref)s, error = '', address = v.address, updated_at = now()
FROM unnest(%(ids)s::bigint[], %(addresses)s::text[]) v(id, address)
WHERE pc.id = v.id AND pc.status = %(sending)s
"""


class _RateLimit:
    """At most `rate` messages a second from this process (the provider's flow control is per
    account: OUTREACH_SMS_RATE is set to its share per worker process)."""

    def __init__(self):
        self.next_at = 0.0

    def wait(self, messages: int, rate: float) -> None:
        if rate <= 0:
            return
        now = time.monotonic()
        if self.next_at > now:
            time.sleep(self.next_at - now)
        self.next_at = max(now, self.next_at) + messages / rate


_sms_rate = _RateLimit()


def _out_id(contacts: list[PlannedContact]) -> str:
    """The batch's idempotency key: the same contacts asked twice are one request to the provider."""
    return "rd" + hashlib.sha1(",".join(str(c.pk) for c in contacts).encode()).hexdigest()[:30]


def sms_send_batch(contacts: list[PlannedContact], *, now: dt.datetime) -> int:
    """SMS through the provider's batch call (many numbers per request), per template."""
    from outreach.gateways import GatewayError
    from outreach.gateways.dysms import MAX_NUMBERS, send_batch

    current = templates_current(channels=["sms"], kinds={c.kind for c in contacts})
    groups: dict[int, list[tuple[PlannedContact, object]]] = {}
    for contact in contacts:
        holder = contact.policy.holder
        template = template_pick(current, channel="sms", kind=contact.kind, language=holder.language)
        if template is None or not holder.phone or (holder.contact_validity or {}).get("sms") == "failed":
            _mark_failed(contact, error="no template" if template is None else "no working mobile", now=now,
                         temporary=False)
            continue
        groups.setdefault(template.pk, []).append((contact, template))
    sent = 0
    size = min(settings.OUTREACH_SMS_BATCH_SIZE, MAX_NUMBERS)
    for rows in groups.values():
        for start in range(0, len(rows), size):
            chunk = rows[start:start + size]
            batch = [contact for contact, _template in chunk]
            template = chunk[0][1]
            params = []
            for contact in batch:
                variables = _variables(contact)
                params.append({k: str(v) for k, v in variables.items()})
            _sms_rate.wait(len(batch), settings.OUTREACH_SMS_RATE)
            try:
                biz_id = send_batch(endpoint=settings.OUTREACH_SMS_ENDPOINT,
                                    access_key_id=settings.OUTREACH_SMS_ACCESS_KEY_ID,
                                    access_key_secret=settings.OUTREACH_SMS_ACCESS_KEY_SECRET,
                                    phones=[c.policy.holder.phone for c in batch],
                                    sign_names=[template.sign_name] * len(batch),
                                    template_code=template.provider_template_code, template_params=params,
                                    out_id=_out_id(batch))
            except GatewayError as exc:
                logger.warning("sms batch of %d failed: %s", len(batch), exc)
                for contact in batch:
                    _mark_failed(contact, error=str(exc), now=now, temporary=exc.temporary)
                continue
            with connection.cursor() as cursor:  # one statement for the batch, the masked number of each
                cursor.execute(SENT_SQL, {"sent": Status.SENT.value, "sending": Status.SENDING.value,
                                          "template": template.pk, "ref": biz_id, "ids": [c.pk for c in batch],
                                          "addresses": [contact_address_masked("sms", c.policy.holder) for c in batch]})
            sent += len(batch)
    return sent


SENDERS = {"email": email_send_batch, "sms": sms_send_batch}
# the kill switch of each gateway: off, its contacts are not even claimed
ENABLED = {"email": "OUTREACH_EMAIL_ENABLED", "sms": "OUTREACH_SMS_ENABLED"}


def contacts_dispatch(*, now: dt.datetime, channels: Iterable[str] | None = None, limit: int | None = None) -> dict:
    """One dispatcher pass: window, claim, send, until nothing due is left. Returns counts."""
    if now.tzinfo is None:
        raise TypeError("now must be aware")
    channels = [c for c in (channels or SENDERS) if c in SENDERS and getattr(settings, ENABLED[c], True)]
    if not channels:
        return {"waiting_window": 0, "claimed": 0, "sent": 0}
    limit = limit or settings.OUTREACH_DISPATCH_BATCH
    moved = contacts_window_apply(until=now)
    counts = {"waiting_window": moved, "claimed": 0, "sent": 0}
    while True:
        ids = contacts_claim(now=now, channels=channels, limit=limit)
        if not ids:
            return counts
        counts["claimed"] += len(ids)
        contacts = _load(ids)
        for channel in channels:
            batch = [c for c in contacts if c.channel == channel]
            if batch:
                counts["sent"] += SENDERS[channel](batch, now=now)
