"""The dispatcher: sends what is due, once.

A pass (1) moves contacts due in the quiet hours to the next window, (2) claims a batch of due
contacts with one conditional UPDATE over SELECT ... FOR UPDATE SKIP LOCKED (status -> sending,
committed at once), so two workers, or one run twice, never take the same contact, (3) sends each
through its channel's gateway and marks it sent with the template version it used.

Before the hand-over each contact gets its idempotency key (committed): the SMS batch's OutId,
which the provider dedupes and which a retried contact keeps until it is sent, or the e-mail's
own key. A contact left in `sending` by a crashed worker is resolved by contacts_sending_resolve:
never handed over (no key) -> planned again; SMS with a key -> asked again with the same OutId
(the provider answers with the first BizId and sends nothing new); e-mail with a key -> failed,
reason interrupted (SMTP has no idempotency: a duplicate reminder is the visible mistake, a
missing one is found on the timeline).
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

from outreach.models import MessageTemplate, PlannedContact
from outreach.paylinks import PaymentLinkVariable
from outreach.selectors import contact_address_masked
from outreach.services.budget import budget_alerts_raise
from outreach.services.bundling import contacts_bundle, contacts_bundle_finish
from outreach.services.cancellation import contacts_cancel_ended_due, contacts_stop_due
from outreach.services.consent import unsubscribe_url
from outreach.services.planning import contacts_window_apply
from outreach.services.proofs import proofs_capture
from outreach.services.templates import template_pick, template_render, templates_current

logger = logging.getLogger(__name__)
Status = PlannedContact.Status

CLAIM_SQL = f"""
UPDATE outreach_plannedcontact pc SET status = %(sending)s, attempts = pc.attempts + 1, updated_at = now()
WHERE pc.id IN (SELECT id FROM outreach_plannedcontact
                WHERE status {PlannedContact.PENDING_SQL_IN} AND planned_at <= %(now)s AND channel = ANY(%(channels)s)
                ORDER BY planned_at, id LIMIT %(limit)s
                FOR UPDATE SKIP LOCKED)
  AND pc.status {PlannedContact.PENDING_SQL_IN}
RETURNING pc.id
"""

# a temporary failure (the server down, a timeout) is tried again after this, then given up
RETRY_DELAYS = (dt.timedelta(minutes=1), dt.timedelta(minutes=5), dt.timedelta(minutes=15), dt.timedelta(hours=1))


def contacts_claim(*, now: dt.datetime, channels: Iterable[str], limit: int) -> list[int]:
    with transaction.atomic(), connection.cursor() as cursor:
        # lost in a crash, a claim is only undone (the key written before any hand-over is durable,
        # and its commit flushes this one): no need to wait for the disk
        cursor.execute("SET LOCAL synchronous_commit TO OFF")
        cursor.execute(CLAIM_SQL, {"sending": Status.SENDING.value, "now": now, "limit": limit,
                                   "channels": list(channels)})
        return sorted(row[0] for row in cursor.fetchall())


def _variables(contact: PlannedContact) -> dict:
    from outreach.services.bundling import bundle_variables

    policy, installment = contact.policy, contact.installment
    return bundle_variables(contact, {
        "name": policy.holder.name, "policy_no": policy.policy_no, "product": policy.product.name,
        "amount": f"{installment.amount_due - installment.amount_paid:.2f}", "due_date": installment.due_date,
        "grace_end": installment.grace_end, "stage_code": contact.stage_code,
        # issued only when the text renders it (outreach.paylinks)
        "payment_link": PaymentLinkVariable(policy=policy, now=contact.planned_at)})


def _keys_set(keys: dict[int, str], *, template) -> None:
    """The idempotency keys (and the version about to be used), committed before the hand-over."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("""UPDATE outreach_plannedcontact pc SET idempotency_key = v.key, template_version_id = %(t)s,
                                 updated_at = now()
                          FROM unnest(%(ids)s::bigint[], %(keys)s::text[]) v(id, key)
                          WHERE pc.id = v.id AND pc.status = %(sending)s""",
                       {"ids": list(keys), "keys": list(keys.values()), "t": template.pk,
                        "sending": Status.SENDING.value})


def _mark_sent(contact: PlannedContact, *, template, address: str, now: dt.datetime, provider_ref: str = "") -> None:
    PlannedContact.objects.filter(pk=contact.pk, status=Status.SENDING).update(
        status=Status.SENT, sent_at=now, template_version=template, address=address,
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


UNSUBSCRIBE_LINE = {"zh-hans": "退订邮件提醒：", "en": "Unsubscribe from e-mail reminders: "}


def email_send_batch(contacts: list[PlannedContact], *, now: dt.datetime, connection_factory=None) -> int:
    """E-mail through Django's backend (SMTP), one connection for the batch."""
    current = templates_current(channels=["email"], kinds={c.kind for c in contacts})
    sent = 0
    try:
        mail = (connection_factory or get_connection)(fail_silently=False)
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
            link = unsubscribe_url(customer_id=holder.pk)
            subject, body = template_render(template, {**_variables(contact), "unsubscribe_url": link})
            if link not in body:  # every e-mail carries its signed opt-out link
                body = f"{body.rstrip()}\n\n{UNSUBSCRIBE_LINE.get(template.language, UNSUBSCRIBE_LINE['en'])}{link}\n"
            _keys_set({contact.pk: f"email:{contact.pk}"}, template=template)
            message = EmailMessage(subject=subject, body=body, to=[holder.email], connection=mail,
                                   headers={"X-Contact-Id": str(contact.pk),  # the idempotency key
                                            "List-Unsubscribe": f"<{link}>"})
            try:
                message.send()
            except smtplib.SMTPRecipientsRefused as exc:
                _mark_failed(contact, error=f"smtp: {exc}", now=now, temporary=False)
                continue
            except (OSError, smtplib.SMTPException) as exc:
                _mark_failed(contact, error=f"smtp: {exc}", now=now, temporary=True)
                continue
            _mark_sent(contact, template=template, address=contact_address_masked("email", holder), now=now)
            sent += 1
    finally:
        try:
            mail.close()
        except (OSError, smtplib.SMTPException):
            pass
    return sent


SENT_SQL = """
UPDATE outreach_plannedcontact pc SET status = %(sent)s, sent_at = %(now)s, template_version_id = %(template)s,
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


def _sms_gateway() -> dict:
    return {"endpoint": settings.OUTREACH_SMS_ENDPOINT, "access_key_id": settings.OUTREACH_SMS_ACCESS_KEY_ID,
            "access_key_secret": settings.OUTREACH_SMS_ACCESS_KEY_SECRET, "rate": settings.OUTREACH_SMS_RATE}


def sms_send_batch(contacts: list[PlannedContact], *, now: dt.datetime, gateway: dict | None = None) -> int:
    """SMS through the provider's batch call (many numbers per request), per template. `gateway`
    (endpoint, access_key_id, access_key_secret, rate) defaults to the settings' provider."""
    gateway = gateway or _sms_gateway()
    from outreach.gateways import GatewayError
    from outreach.gateways.dysms import MAX_NUMBERS, send_batch

    current = templates_current(channels=["sms"], kinds={c.kind for c in contacts})
    # a contact asked before (a temporary failure, a crashed worker) keeps its batch's key: asked
    # again with it, the provider does not send twice what it had sent
    groups: dict[tuple[int, str], list[tuple[PlannedContact, MessageTemplate]]] = {}
    for contact in contacts:
        holder = contact.policy.holder
        template = template_pick(current, channel="sms", kind=contact.kind, language=holder.language)
        if template is None or not holder.phone or (holder.contact_validity or {}).get("sms") == "failed":
            _mark_failed(contact, error="no template" if template is None else "no working mobile", now=now,
                         temporary=False)
            continue
        groups.setdefault((template.pk, contact.idempotency_key), []).append((contact, template))
    sent = 0
    size = min(settings.OUTREACH_SMS_BATCH_SIZE, MAX_NUMBERS)
    for (_template_id, old_key), rows in groups.items():
        for start in range(0, len(rows), size):
            chunk = rows[start:start + size]
            batch = [contact for contact, _template in chunk]
            template = chunk[0][1]
            out_id = old_key or _out_id(batch)
            if not old_key:
                _keys_set({c.pk: out_id for c in batch}, template=template)
            params = []
            for contact in batch:
                variables = _variables(contact)
                params.append({k: str(v) for k, v in variables.items()
                               if k != "payment_link" or "payment_link" in template.body})
            _sms_rate.wait(len(batch), gateway["rate"])
            try:
                biz_id = send_batch(endpoint=gateway["endpoint"], access_key_id=gateway["access_key_id"],
                                    access_key_secret=gateway["access_key_secret"],
                                    phones=[c.policy.holder.phone for c in batch],
                                    sign_names=[template.sign_name] * len(batch),
                                    template_code=template.provider_template_code, template_params=params,
                                    out_id=out_id)
            except GatewayError as exc:
                logger.warning("sms batch of %d failed: %s", len(batch), exc)
                for contact in batch:
                    _mark_failed(contact, error=str(exc), now=now, temporary=exc.temporary)
                continue
            # one statement for the batch, the masked number of each; its commit need not wait for
            # the disk: lost in a crash, the contacts stay `sending` with their key, and the sweep
            # asks the provider again with the same OutId (nothing is sent twice)
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
                cursor.execute(SENT_SQL, {"sent": Status.SENT.value, "sending": Status.SENDING.value, "now": now,
                                          "template": template.pk, "ref": biz_id, "ids": [c.pk for c in batch],
                                          "addresses": [contact_address_masked("sms", c.policy.holder) for c in batch]})
            sent += len(batch)
    return sent


def _call_send_batch(contacts, *, now, gateway=None):
    from outreach.services.calls import call_send_batch

    return call_send_batch(contacts, now=now, gateway=gateway)


def _wechat_send_batch(contacts, *, now):
    from outreach.services.messaging import wechat_send_batch

    return wechat_send_batch(contacts, now=now)


def _app_send_batch(contacts, *, now):
    from outreach.services.messaging import app_push_send_batch

    return app_push_send_batch(contacts, now=now)


SENDERS = {"email": email_send_batch, "sms": sms_send_batch, "phone": _call_send_batch,
           "wechat": _wechat_send_batch, "app": _app_send_batch}
# the kill switch of each gateway: off, its contacts are not even claimed
ENABLED = {"email": "OUTREACH_EMAIL_ENABLED", "sms": "OUTREACH_SMS_ENABLED", "phone": "OUTREACH_VOICE_ENABLED",
           "wechat": "OUTREACH_WECHAT_ENABLED", "app": "OUTREACH_APP_PUSH_ENABLED"}


def contacts_dispatch(*, now: dt.datetime, channels: Iterable[str] | None = None, limit: int | None = None,
                      email_connection_factory=None, sms_gateway: dict | None = None,
                      voice_gateway: dict | None = None) -> dict:
    """One dispatcher pass: window, claim, send, until nothing due is left. Returns counts. The
    demo's history passes its own e-mail backend and in-process fake gateway."""
    if now.tzinfo is None:
        raise TypeError("now must be aware")
    channels = [c for c in (channels or SENDERS) if c in SENDERS and getattr(settings, ENABLED[c], True)]
    if not channels:
        return {"waiting_window": 0, "claimed": 0, "sent": 0}
    limit = limit or settings.OUTREACH_DISPATCH_BATCH
    contacts_cancel_ended_due(now=now)
    contacts_stop_due(now=now)
    moved = contacts_window_apply(until=now)
    counts = {"waiting_window": moved, "claimed": 0, "sent": 0}
    while True:
        ids = contacts_claim(now=now, channels=channels, limit=limit)
        if not ids:
            if counts["claimed"]:
                budget_alerts_raise(now=now)
            return counts
        counts["claimed"] += len(ids)
        contacts = _load(ids)
        for channel in channels:
            batch = [c for c in contacts if c.channel == channel]
            covered: dict[int, list[int]] = {}
            if batch and settings.OUTREACH_GROUP_SAME_WEEK:
                batch, covered = contacts_bundle(batch)
            if batch:
                if channel == "email":
                    counts["sent"] += email_send_batch(batch, now=now, connection_factory=email_connection_factory)
                elif channel == "sms":
                    counts["sent"] += sms_send_batch(batch, now=now, gateway=sms_gateway)
                elif channel == "phone":
                    counts["sent"] += _call_send_batch(batch, now=now, gateway=voice_gateway)
                else:
                    counts["sent"] += SENDERS[channel](batch, now=now)
            if covered:
                counts["bundled"] = counts.get("bundled", 0) + contacts_bundle_finish(covered)
            if batch:
                proofs_capture([c.pk for c in batch] + [pk for ids in covered.values() for pk in ids])


# a worker holds a claimed batch for seconds; one left `sending` this long was abandoned
SENDING_STALE_AFTER = dt.timedelta(minutes=15)


def contacts_sending_resolve(*, now: dt.datetime, stale_after: dt.timedelta = SENDING_STALE_AFTER) -> dict:
    """Contacts left in `sending` by a crashed dispatcher, resolved without sending twice (see the
    module's docstring). A live worker's batch is younger than `stale_after` (a worker holds one
    for seconds); two sweeps at once do not take the same rows (FOR UPDATE SKIP LOCKED, then
    touched). Returns counts."""
    if now.tzinfo is None:
        raise TypeError("now must be aware")
    counts = {"replanned": 0, "sms_confirmed": 0, "interrupted": 0}
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("""SELECT id, channel, idempotency_key FROM outreach_plannedcontact
                          WHERE status = %(sending)s AND updated_at < %(stale)s
                          ORDER BY id FOR UPDATE SKIP LOCKED""",
                       {"sending": Status.SENDING.value, "stale": now - stale_after})
        stuck = cursor.fetchall()
        never = [pk for pk, _channel, key in stuck if not key]
        interrupted = [pk for pk, channel, key in stuck if key and channel != "sms"]
        if never:  # claimed, never handed over: due again now
            counts["replanned"] = PlannedContact.objects.filter(pk__in=never, status=Status.SENDING).update(
                status=Status.PLANNED, planned_at=now, updated_at=now)
        if interrupted:
            counts["interrupted"] = PlannedContact.objects.filter(pk__in=interrupted, status=Status.SENDING).update(
                status=Status.FAILED, reason=PlannedContact.Reason.INTERRUPTED,
                error="the dispatcher stopped during the hand-over: not sent again", updated_at=now)
        # SMS with a key: touched now, so a second sweep leaves them to this one
        resend = [pk for pk, channel, key in stuck if key and channel == "sms"]
        PlannedContact.objects.filter(pk__in=resend).update(updated_at=now)
    if resend and getattr(settings, ENABLED["sms"], True):
        counts["sms_confirmed"] = sms_send_batch(_load(resend), now=now)
    return counts
