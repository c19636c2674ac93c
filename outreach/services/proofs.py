"""Delivery proof for lapse notices and reinstatement invitations (issue 16): when a contact of
a step in OUTREACH_PROOF_STAGES is handed to a gateway, what was sent (the rendered text), the
masked address, when and the provider's id are kept; the provider's receipt (delivered, failed)
is added when it comes. Kept OUTREACH_PROOF_RETENTION_DAYS, then purged by proofs_purge."""

import datetime as dt

from django.conf import settings
from django.db import connection

from outreach.models import DeliveryProof, PlannedContact
from outreach.services.templates import template_render

Status = PlannedContact.Status
NOTICE = {"G+1": "lapse_notice", "R+1": "reinstatement_invitation"}


def proofs_capture(contact_ids: list[int]) -> int:
    """The proof of every contact among these that was handed over for a proof stage (leads and
    the contacts their messages covered). Idempotent (one per contact)."""
    from outreach.services.dispatch import _variables

    stages = list(settings.OUTREACH_PROOF_STAGES)
    if not contact_ids or not stages:
        return 0
    contacts = list(PlannedContact.objects.filter(
        pk__in=contact_ids, stage_code__in=stages, sent_at__isnull=False, proof__isnull=True,
        status__in=[Status.SENT, Status.DELIVERED, Status.BOUNCED, Status.FAILED])
        .select_related("policy__holder", "policy__product", "installment", "template_version"))
    proofs = []
    for contact in contacts:
        assert contact.sent_at is not None  # filtered on sent_at__isnull=False
        subject, body = template_render(contact.template_version, _variables(contact)) \
            if contact.template_version else ("", "")
        proofs.append(DeliveryProof(
            contact=contact, policy_id=contact.policy_id, notice=NOTICE.get(contact.stage_code, contact.stage_code),
            channel=contact.channel, address=contact.address, content="\n".join(filter(None, [subject, body.strip()])),
            sent_at=contact.sent_at, provider_id=contact.provider_ref,
            receipt={"status": contact.status, "code": contact.error}))
    DeliveryProof.objects.bulk_create(proofs, ignore_conflicts=True)
    return len(proofs)


RECEIPT_SQL = """
UPDATE outreach_deliveryproof d SET delivered_at = pc.delivered_at,
    receipt = d.receipt || jsonb_build_object('status', pc.status, 'code', pc.error, 'received_at', %(now)s::text)
FROM outreach_plannedcontact pc
WHERE d.contact_id = pc.id AND pc.provider_ref = ANY(%(refs)s)
"""


def proofs_receipts_apply(*, provider_refs: list[str], now: dt.datetime) -> int:
    """The provider's receipts reached these contacts: their proofs keep the outcome."""
    if not provider_refs:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(RECEIPT_SQL, {"refs": sorted(set(provider_refs)), "now": now.isoformat()})
        return cursor.rowcount


def proofs_purge(*, now: dt.datetime) -> int:
    """Proofs older than the retention period go (index delivery_proof_sent)."""
    cutoff = now - dt.timedelta(days=settings.OUTREACH_PROOF_RETENTION_DAYS)
    deleted, _ = DeliveryProof.objects.filter(sent_at__lt=cutoff).delete()
    return deleted


def policy_proofs(*, policy) -> list[DeliveryProof]:
    """The policy's proofs, newest first (index delivery_proof_policy); the caller checked scope."""
    return list(DeliveryProof.objects.filter(policy=policy).order_by("-sent_at", "-id"))
