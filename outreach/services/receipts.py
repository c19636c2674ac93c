"""Delivery receipts (状态报告) pushed by the SMS provider, in Dysms's SmsReport shape: a JSON
array of {"phone_number", "success", "err_code", "err_msg", "biz_id", "out_id", "report_time"}.

Authenticated before anything is read: HMAC-SHA256 over "<timestamp>.<raw body>" with a shared
secret, the timestamp no older than 5 minutes (DESIGN.md section 4, webhooks). A bad one changes
nothing. A receipt that says the number does not exist bounces the contact, marks the customer's
mobile failed (with the trail) and publishes contact_bounced.
"""

import datetime as dt
import hashlib
import hmac
import json

from django.conf import settings
from django.db import connection, transaction
from django.utils.translation import gettext as _

from audit.services import audit_context
from core.dates import SHANGHAI
from core.errors import ApplicationError
from core.events import CONTACT_BOUNCED, event_publish
from outreach.models import PlannedContact

MAX_AGE = dt.timedelta(minutes=5)
Status = PlannedContact.Status


def receipt_signature(*, body: bytes, timestamp: str, secret: str) -> str:
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def receipt_verify(*, body: bytes, signature: str, timestamp: str, now: dt.datetime) -> None:
    secret = settings.OUTREACH_SMS_CALLBACK_SECRET
    if not secret:
        raise ApplicationError(_("Delivery receipts are not configured."), status=403)
    expected = receipt_signature(body=body, timestamp=timestamp or "", secret=secret)
    if not hmac.compare_digest(expected, (signature or "").strip().lower()):
        raise ApplicationError(_("Bad signature."), status=403)
    try:
        sent_at = dt.datetime.fromtimestamp(int(timestamp), tz=dt.UTC)
    except (TypeError, ValueError, OverflowError):
        raise ApplicationError(_("Bad timestamp."), status=403) from None
    if abs(now - sent_at) > MAX_AGE:
        raise ApplicationError(_("The timestamp is too old."), status=403)


# the contacts a receipt speaks of: the batch's BizId and the number (the same number may be in a
# batch twice, for two policies: both get the receipt)
APPLY_SQL = """
WITH r AS (SELECT * FROM unnest(%(biz)s::text[], %(phones)s::text[], %(states)s::text[], %(codes)s::text[])
           AS r(biz_id, phone, state, code)),
hit AS (
    SELECT pc.id, r.state, r.code, p.holder_id, pc.policy_id
    FROM r JOIN outreach_plannedcontact pc ON pc.provider_ref = r.biz_id AND pc.channel = 'sms'
    JOIN policies_policy p ON p.id = pc.policy_id
    JOIN policies_customer c ON c.id = p.holder_id AND c.phone = r.phone
    WHERE pc.status = ANY(%(open)s)
)
UPDATE outreach_plannedcontact pc SET status = hit.state, error = hit.code,
    delivered_at = CASE WHEN hit.state = %(delivered)s THEN %(now)s END, updated_at = now()
FROM hit WHERE pc.id = hit.id
RETURNING hit.holder_id, hit.policy_id, hit.state
"""


def sms_receipts_apply(*, body: bytes, signature: str, timestamp: str, now: dt.datetime) -> dict:
    """The provider's push, authenticated before anything is read."""
    receipt_verify(body=body, signature=signature, timestamp=timestamp, now=now)
    try:
        items = json.loads(body)
        if not isinstance(items, list):
            raise ValueError
        rows = [(str(i["biz_id"]), str(i["phone_number"]), bool(i["success"]), str(i.get("err_code", "")))
                for i in items]
    except (ValueError, KeyError, TypeError):
        raise ApplicationError(_("A JSON array of receipts is expected.")) from None
    return sms_receipts_record(rows=rows, now=now)


def sms_receipts_record(*, rows: list[tuple[str, str, bool, str]], now: dt.datetime) -> dict:
    """Receipts already authenticated, as (biz_id, phone, success, err_code), set-based: the
    contacts they speak of are delivered, failed or bounced (a bounce fails the customer's mobile)."""
    bounce_codes = set(settings.OUTREACH_SMS_BOUNCE_CODES)

    def state(success: bool, code: str) -> str:
        if success:
            return Status.DELIVERED.value
        return Status.BOUNCED.value if code in bounce_codes else Status.FAILED.value

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(APPLY_SQL, {
            "biz": [r[0] for r in rows], "phones": [r[1] for r in rows], "codes": [r[3] for r in rows],
            "states": [state(r[2], r[3]) for r in rows], "delivered": Status.DELIVERED.value, "now": now,
            # a late receipt may follow an earlier one (failed, then delivered on retry by the carrier)
            "open": [Status.SENDING.value, Status.SENT.value, Status.FAILED.value]})
        changed = cursor.fetchall()
        if changed:
            from outreach.services.proofs import proofs_receipts_apply

            proofs_receipts_apply(provider_refs=[r[0] for r in rows], now=now)
        bounced_holders = sorted({holder for holder, _policy, st in changed if st == Status.BOUNCED})
        if bounced_holders:
            customers_mobile_fail(customer_ids=bounced_holders, as_of=now.astimezone(SHANGHAI).date())
    counts = {"receipts": len(rows), "updated": len(changed)}
    for st in (Status.DELIVERED, Status.FAILED, Status.BOUNCED):
        counts[st.value] = sum(1 for _h, _p, s in changed if s == st)
    return counts


def customers_mobile_fail(*, customer_ids: list[int], as_of: dt.date) -> None:
    """Their mobile does not work: SMS and calls to it are marked failed on the customer record
    (with the trail), and contact_bounced lets renewals open contact repair for whoever has no
    working channel left."""
    with audit_context(reason="sms bounced", job="outreach_receipts"), connection.cursor() as cursor:
        cursor.execute("""UPDATE policies_customer SET contact_validity = contact_validity || %(failed)s::jsonb,
                                 updated_at = now()
                          WHERE id = ANY(%(ids)s::bigint[]) RETURNING id""",
                       {"failed": json.dumps({"sms": "failed", "phone": "failed"}), "ids": customer_ids})
        cursor.execute("SELECT id FROM policies_policy WHERE holder_id = ANY(%(ids)s::bigint[])", {"ids": customer_ids})
        policy_ids = [row[0] for row in cursor.fetchall()]
    event_publish(CONTACT_BOUNCED, as_of=as_of, policy_ids=policy_ids, source="sms_receipt")
