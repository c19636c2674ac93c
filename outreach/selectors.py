"""Reads of the outbox: the timeline of a policy (the caller has checked the policy's scope)."""

from django.utils.translation import gettext_lazy as _

from accounts.masking import mask_phone
from outreach.models import ConsentChange, PlannedContact
from policies.models import Channel, Policy

CHANNEL_LABELS = dict(Channel.choices)
KIND_LABELS = {"reminder": _("Reminder"), "robot_call": _("Robot call")}


def mask_email(value: str) -> str:
    local, _, domain = value.partition("@")
    return f"{local[:1]}***@{domain}" if domain else ""


def mask_identity(value: str) -> str:
    """A WeChat openid or an app push client id: its first four characters (enough to tell two
    apart on a screen, not enough to message the customer)."""
    return f"{value[:4]}***" if value else ""


def contact_address_masked(channel: str, customer) -> str:
    if channel in ("sms", "phone"):
        return mask_phone(customer.phone)
    if channel == "email":
        return mask_email(customer.email)
    return ""


def policy_contacts(*, policy: Policy, limit: int = 200) -> list[dict]:
    """Every contact of the policy, planned, sent or decided not to send, newest first (index
    planned_contact_policy)."""
    holder = policy.holder
    from outreach.models import CallResult

    rows = list(PlannedContact.objects.filter(policy=policy).select_related("template_version")
                .order_by("-planned_at", "-id")[:limit])
    calls = {r.contact_id: r for r in CallResult.objects.filter(policy=policy, contact_id__in=[c.pk for c in rows])}
    timeline = []
    for c in rows:
        template = c.template_version
        call = calls.get(c.pk)
        timeline.append({
            "id": c.pk, "stage_code": c.stage_code, "kind": c.kind, "channel": c.channel,
            "channel_label": CHANNEL_LABELS.get(c.channel, c.channel), "urgent": c.urgent,
            "address": c.address or contact_address_masked(c.channel, holder),
            "template": f"{template.channel}/{template.language}" if template else "",
            "template_version": template.version if template else None,
            "status": c.status, "status_label": c.get_status_display(),
            "reason": c.reason, "reason_label": c.get_reason_display() if c.reason else "",
            "error": c.error, "planned_at": c.planned_at, "sent_at": c.sent_at, "delivered_at": c.delivered_at,
            "installment_id": c.installment_id, "attempts": c.attempts, "bundle_lead_id": c.bundle_lead_id,
            "call_outcome": call.outcome if call else "", "call_outcome_label": call.get_outcome_display() if call else "",
            "promised_on": call.promised_on if call else None, "call_duration": call.duration_seconds if call else None,
        })
    return timeline


def policy_consent_changes(*, policy: Policy, limit: int = 50) -> list[dict]:
    """The policyholder's consent trail (opt-outs by reply or link, changes by clerks), newest first."""
    rows = (ConsentChange.objects.filter(customer_id=policy.holder_id).select_related("actor")
            .order_by("-occurred_at", "-id")[:limit])
    return [{"channel": c.channel, "channel_label": CHANNEL_LABELS.get(c.channel, c.channel), "action": c.action,
             "action_label": c.get_action_display(), "source": c.source, "source_label": c.get_source_display(),
             "detail": c.detail, "by": c.actor.get_username() if c.actor else "", "occurred_at": c.occurred_at}
            for c in rows]


def templates_overview() -> list[dict]:
    """Every (channel, kind) with, per language, the current version, the one in use (SMS: the
    latest the provider approved) and the approval state."""
    from outreach.models import MessageTemplate
    from outreach.services.templates import LANGUAGES, templates_current

    rows = list(MessageTemplate.objects.filter(active=True).order_by("channel", "kind", "language"))
    in_use = templates_current(channels={r.channel for r in rows}, kinds={r.kind for r in rows})
    overview: dict[tuple[str, str], dict] = {}
    for t in rows:
        entry = overview.setdefault((t.channel, t.kind), {
            "channel": t.channel, "channel_label": CHANNEL_LABELS.get(t.channel, t.channel), "kind": t.kind,
            "kind_label": KIND_LABELS.get(t.kind, t.kind),
            "languages": []})
        used = in_use.get((t.channel, t.kind, t.language))
        entry["languages"].append({
            "language": t.language, "version": t.version, "approval": t.approval,
            "approval_label": t.get_approval_display(), "in_use_version": used.version if used else None,
            "purpose_label": t.get_purpose_display(), "created_at": t.created_at})
    for entry in overview.values():
        entry["languages"].sort(key=lambda lang: LANGUAGES.index(lang["language"]) if lang["language"] in LANGUAGES
                                else 99)
    return list(overview.values())


IDENTITY_CHANNELS = ("wechat", "app")


def customer_identities_masked(*, customer_id: int) -> list[dict]:
    """The customer's WeChat and app push identities for a screen, masked, with whether the channel
    was marked failed (unfollowed, app removed); the caller has checked the policy's scope."""
    from outreach.models import ChannelIdentity
    from policies.models import Customer

    values = dict(ChannelIdentity.objects.filter(customer_id=customer_id, channel__in=IDENTITY_CHANNELS)
                  .values_list("channel", "value"))
    validity = Customer.objects.filter(pk=customer_id).values_list("contact_validity", flat=True).first() or {}
    return [{"channel": channel, "label": CHANNEL_LABELS.get(channel, channel),
             "masked": mask_identity(values.get(channel, "")), "failed": validity.get(channel) == "failed"}
            for channel in IDENTITY_CHANNELS]
