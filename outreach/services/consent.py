"""Consent: the customer record holds it (opt-outs, preferred channel, language); only these
services write it, each change with its trail (the customer's history rows with the context, and a
ConsentChange row the timeline shows). Pending contacts on an opted-out channel are suppressed at
once with the reason, so the timeline says why nothing went.

Opt-outs arrive by an SMS reply (the provider's uplink callback, "TD", "T", "退订", authenticated
like the delivery receipts) and by the signed unsubscribe link of every e-mail.
"""

import datetime as dt
import json

from django.conf import settings
from django.core import signing
from django.db import connection, transaction
from django.urls import reverse
from django.utils.translation import gettext as _

from audit.services import audit_context
from core.errors import ApplicationError
from outreach.models import ConsentChange, PlannedContact
from policies.models import Customer

UNSUBSCRIBE_SALT = "outreach.unsubscribe"
# the words that opt out by SMS reply (compared after trimming, upper case): the marketing line
# says 回T退订; carriers' own conventions add TD and N
OPT_OUT_WORDS = frozenset({"T", "TD", "N", "退订", "退", "取消"})

Status, Reason = PlannedContact.Status, PlannedContact.Reason


def unsubscribe_token(*, customer_id: int, channel: str = "email") -> str:
    return signing.dumps({"c": customer_id, "ch": channel}, salt=UNSUBSCRIBE_SALT, compress=True)


def unsubscribe_url(*, customer_id: int, channel: str = "email") -> str:
    base = getattr(settings, "OUTREACH_PUBLIC_URL", "http://localhost:8000").rstrip("/")
    return base + reverse("outreach:unsubscribe", args=[unsubscribe_token(customer_id=customer_id, channel=channel)])


def unsubscribe_token_read(token: str) -> tuple[Customer, str]:
    """The customer and channel a link names; a forged or altered link is refused."""
    try:
        data = signing.loads(token, salt=UNSUBSCRIBE_SALT)
        customer = Customer.objects.get(pk=int(data["c"]))
    except (signing.BadSignature, KeyError, TypeError, ValueError, Customer.DoesNotExist):
        raise ApplicationError(_("This unsubscribe link is not valid."), status=404) from None
    return customer, str(data.get("ch", "email"))


OPT_OUT_SQL = """
UPDATE policies_customer SET opt_outs = array_append(opt_outs, %(channel)s), updated_at = now()
WHERE id = ANY(%(ids)s) AND NOT (%(channel)s = ANY(opt_outs))
RETURNING id
"""

# the pending contacts of these customers on the channel: suppressed, reason opted out
SUPPRESS_SQL = f"""
UPDATE outreach_plannedcontact pc SET status = %(suppressed)s, reason = %(opted_out)s, updated_at = now()
FROM policies_policy p
WHERE p.id = pc.policy_id AND p.holder_id = ANY(%(ids)s) AND pc.channel = ANY(%(channels)s)
  AND pc.status {PlannedContact.PENDING_SQL_IN}
"""


def customers_opt_out(*, customer_ids: list[int], channel: str, source: str, occurred_at: dt.datetime,
                      detail: str = "", actor=None) -> int:
    """These customers opt out of `channel` (SMS covers robot calls to the same number only when
    the channel is phone: a reply to a text opts out of texts). Set-based, idempotent: a customer
    already opted out gets no second trail row. Returns the customers changed."""
    if occurred_at.tzinfo is None:
        raise TypeError("occurred_at must be aware")
    ids = sorted(set(customer_ids))
    if not ids:
        return 0
    user = getattr(actor, "pk", None)
    with transaction.atomic(), audit_context(user=user, reason=f"opt-out: {source}", job="outreach_consent"), \
            connection.cursor() as cursor:
        cursor.execute(OPT_OUT_SQL, {"channel": channel, "ids": ids})
        changed = [row[0] for row in cursor.fetchall()]
        cursor.execute(SUPPRESS_SQL, {"suppressed": Status.SUPPRESSED.value, "opted_out": Reason.OPTED_OUT.value,
                                      "ids": ids, "channels": [channel],
                                      "pending": [s.value for s in PlannedContact.PENDING_STATUSES]})
        ConsentChange.objects.bulk_create([
            ConsentChange(customer_id=pk, channel=channel, action=ConsentChange.Action.OPT_OUT, source=source,
                          detail=detail[:256], actor=actor if user else None, occurred_at=occurred_at)
            for pk in changed])
    return len(changed)


def customer_unsubscribe(*, token: str, occurred_at: dt.datetime) -> Customer:
    """The e-mail's link, confirmed by the customer (a POST: a mail scanner's GET changes nothing)."""
    customer, channel = unsubscribe_token_read(token)
    customers_opt_out(customer_ids=[customer.pk], channel=channel, source=ConsentChange.Source.EMAIL_LINK,
                      occurred_at=occurred_at)
    customer.refresh_from_db(fields=["opt_outs"])
    return customer


def sms_replies_apply(*, body: bytes, signature: str, timestamp: str, now: dt.datetime) -> dict:
    """The provider's uplink push (Dysms SmsUp: a JSON array of {"phone_number", "content",
    "send_time", "sign_name", "dest_code", "sequence_id"}), authenticated like the receipts. A reply
    that is an opt-out word opts every customer with that mobile out of SMS."""
    from outreach.services.receipts import receipt_verify

    receipt_verify(body=body, signature=signature, timestamp=timestamp, now=now)
    try:
        items = json.loads(body)
        if not isinstance(items, list):
            raise ValueError
        replies = [(str(i["phone_number"]), str(i.get("content", ""))) for i in items]
    except (ValueError, KeyError, TypeError):
        raise ApplicationError(_("A JSON array of replies is expected.")) from None
    phones = sorted({phone for phone, content in replies if content.strip().upper() in OPT_OUT_WORDS})
    customer_ids = list(Customer.objects.filter(phone__in=phones).values_list("pk", flat=True)) if phones else []
    opted = customers_opt_out(customer_ids=customer_ids, channel="sms", source=ConsentChange.Source.SMS_REPLY,
                              occurred_at=now, detail="TD")
    return {"replies": len(replies), "opt_outs": opted}


def customer_consent_update(*, policy, actor, occurred_at: dt.datetime, preferred_channel: str | None = None,
                            opt_in: tuple[str, ...] = (), opt_out: tuple[str, ...] = (), time_zone: str | None = None,
                            window: tuple | None = None) -> Customer:
    """A clerk records what the policyholder asked for (on the phone, at the counter): preferred
    channel, channels opted in or out, time zone and window. Scoped like the policy; each change a
    consent row; pending contacts on a channel opted out are suppressed."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from accounts.roles import perm
    from outreach.models import ContactWindow
    from policies.selectors import policy_scope_check

    if not actor.has_perm(perm("work_cases")):
        raise ApplicationError(_("Your role cannot change a customer's consent."), status=403)
    policy_scope_check(user=actor, policy=policy)
    if time_zone is not None:
        try:
            ZoneInfo(time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ApplicationError(_("Unknown time zone."), errors={"time_zone": [_("unknown")]}) from None
    source = ConsentChange.Source.CLERK
    with transaction.atomic(), audit_context(user=actor.pk, username=actor.get_username(), reason="consent"):
        customer = Customer.objects.select_for_update().get(pk=policy.holder_id)
        changes = []
        if preferred_channel is not None and preferred_channel != customer.preferred_channel:
            customer.preferred_channel = preferred_channel
            changes.append((preferred_channel, ConsentChange.Action.PREFERENCE))
        for channel in opt_in:
            if channel in customer.opt_outs:
                customer.opt_outs = [c for c in customer.opt_outs if c != channel]
                changes.append((channel, ConsentChange.Action.OPT_IN))
        customer.save(update_fields=["preferred_channel", "opt_outs", "updated_at"])
        ConsentChange.objects.bulk_create([
            ConsentChange(customer=customer, channel=channel, action=action, source=source, actor=actor,
                          occurred_at=occurred_at) for channel, action in changes])
        for channel in opt_out:
            customers_opt_out(customer_ids=[customer.pk], channel=channel, source=source, occurred_at=occurred_at,
                              actor=actor)
        if time_zone is not None or window is not None:
            start, end = window or (None, None)
            ContactWindow.objects.update_or_create(customer=customer, defaults={
                "time_zone": time_zone or "Asia/Shanghai", "start": start, "end": end})
        customer.refresh_from_db()
    return customer
