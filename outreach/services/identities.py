"""A customer's addresses on the channels that are not on the customer record (the WeChat official
account's openid, the app's push client id), entered by the people who may change a customer's
contact details (work_cases: clerks and team leads, DESIGN.md section 1, as for consent) on the
policy page, for a policy of their branches. Checked here, not only in the view: an API or a
command calling this is held to the same rules. Each change is on the trail with the values masked."""

import re

from django.db import transaction
from django.utils.translation import gettext as _

from accounts.roles import perm
from audit.services import audit_context, operation_record
from core.errors import ApplicationError
from outreach.models import ChannelIdentity
from outreach.selectors import mask_identity
from policies.models import Customer, Policy

# what each channel's identity looks like: a WeChat openid is 28 characters of letters, digits, - and _
# (other accounts' up to 64); a Getui client id 32 hexadecimal characters (other push services' up to
# 64 letters, digits, - and _)
IDENTITY_FORMATS = {
    "wechat": re.compile(r"[A-Za-z0-9_-]{16,64}"),
    "app": re.compile(r"[A-Za-z0-9_-]{16,64}"),
}


def _may_edit(*, actor, policy: Policy) -> None:
    from policies.selectors import policy_scope_check

    if not actor.has_perm(perm("work_cases")):
        raise ApplicationError(_("Your role cannot change a customer's contact details."), status=403)
    policy_scope_check(user=actor, policy=policy)


def _clean(channel: str, value: str) -> str:
    value = value.strip()
    if value and not IDENTITY_FORMATS[channel].fullmatch(value):
        message = (_("A WeChat openid is 16 to 64 letters, digits, - or _.") if channel == "wechat"
                   else _("A push client id is 16 to 64 letters, digits, - or _."))
        raise ApplicationError(message, errors={channel: [message]})
    return value


def customer_channel_identities_update(*, policy: Policy, actor, identities: dict[str, str]) -> dict[str, str]:
    """The policyholder's identities on the channels given ({"wechat": openid, "app": client id};
    an empty value removes it). A new identity clears a "failed" mark on its channel (the customer
    followed the account again, installed the app again). Returns what changed, masked
    ({channel: "oGZ-***" or ""})."""
    _may_edit(actor=actor, policy=policy)
    unknown = sorted(set(identities) - set(IDENTITY_FORMATS))
    if unknown:
        raise ApplicationError(_("Unknown channel: %(channels)s.") % {"channels": ", ".join(unknown)})
    errors: dict[str, list[str]] = {}
    cleaned = {}
    for channel, value in identities.items():
        try:
            cleaned[channel] = _clean(channel, value or "")
        except ApplicationError as exc:
            errors.update(exc.errors or {})
    if errors:
        raise ApplicationError(_("Please correct the identities below."), errors=errors)
    changed: dict[str, tuple[str, str]] = {}
    with transaction.atomic(), audit_context(user=actor.pk, username=actor.get_username(),
                                             reason="channel identities"):
        customer = Customer.objects.select_for_update().get(pk=policy.holder_id)
        current = {i.channel: i for i in ChannelIdentity.objects.filter(customer=customer)}
        for channel, value in cleaned.items():
            before = current[channel].value if channel in current else ""
            if value == before:
                continue
            if value:
                ChannelIdentity.objects.update_or_create(customer=customer, channel=channel, defaults={"value": value})
            else:
                ChannelIdentity.objects.filter(customer=customer, channel=channel).delete()
            changed[channel] = (mask_identity(before), mask_identity(value))
        revived = [c for c, (_before, after) in changed.items()
                   if after and (customer.contact_validity or {}).get(c) == "failed"]
        if revived:
            customer.contact_validity = {k: v for k, v in customer.contact_validity.items() if k not in revived}
            customer.save(update_fields=["contact_validity", "updated_at"])
        if changed:
            operation_record(action="channel_identities_update", actor=actor, object_type="policy",
                             object_ref=policy.policy_no,
                             details={"customer": customer.pk,
                                      "changes": {c: list(pair) for c, pair in sorted(changed.items())}})
    return {channel: after for channel, (_before, after) in changed.items()}
