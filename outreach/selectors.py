"""Reads of the outbox: the timeline of a policy (the caller has checked the policy's scope)."""

from accounts.masking import mask_phone
from outreach.models import PlannedContact
from policies.models import Channel, Policy

CHANNEL_LABELS = dict(Channel.choices)


def _mask_email(value: str) -> str:
    local, _, domain = value.partition("@")
    return f"{local[:1]}***@{domain}" if domain else ""


def contact_address_masked(channel: str, customer) -> str:
    if channel in ("sms", "phone"):
        return mask_phone(customer.phone)
    if channel == "email":
        return _mask_email(customer.email)
    return ""


def policy_contacts(*, policy: Policy, limit: int = 200) -> list[dict]:
    """Every contact of the policy, planned, sent or decided not to send, newest first (index
    planned_contact_policy)."""
    holder = policy.holder
    rows = (PlannedContact.objects.filter(policy=policy).select_related("template_version")
            .order_by("-planned_at", "-id")[:limit])
    timeline = []
    for c in rows:
        template = c.template_version
        timeline.append({
            "id": c.pk, "stage_code": c.stage_code, "kind": c.kind, "channel": c.channel,
            "channel_label": CHANNEL_LABELS.get(c.channel, c.channel), "urgent": c.urgent,
            "address": c.address or contact_address_masked(c.channel, holder),
            "template": f"{template.channel}/{template.language}" if template else "",
            "template_version": template.version if template else None,
            "status": c.status, "status_label": c.get_status_display(),
            "reason": c.reason, "reason_label": c.get_reason_display() if c.reason else "",
            "error": c.error, "planned_at": c.planned_at, "sent_at": c.sent_at, "delivered_at": c.delivered_at,
            "installment_id": c.installment_id, "attempts": c.attempts,
        })
    return timeline
