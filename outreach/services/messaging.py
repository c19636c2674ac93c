"""WeChat official-account template messages and app push (Getui), sent by the dispatcher like
SMS: the idempotency key committed before the hand-over (WeChat's client_msg_id, Getui's
request_id: the platforms drop a repeat), one call per message, temporary failures retried with
backoff. Access tokens are shared by every worker through the cache and fetched again once when
the platform says they expired. The customer's openid and push client id are outreach's
ChannelIdentity rows."""

import datetime as dt
import logging

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from outreach.gateways import GatewayError
from outreach.models import ChannelIdentity, PlannedContact
from outreach.selectors import mask_identity
from outreach.services.templates import template_pick, template_render, templates_current

logger = logging.getLogger(__name__)
Status = PlannedContact.Status


def _token(cache_key: str, fetch, *, fresh: bool = False) -> str:
    token = None if fresh else cache.get(cache_key)
    if token is None:
        token, expires_in = fetch()
        cache.set(cache_key, token, max(30, expires_in - 300))  # renewed 5 minutes before it expires
    return token


def _with_token(cache_key: str, fetch, call):
    """call(token); a stale token is fetched again once."""
    try:
        return call(_token(cache_key, fetch))
    except GatewayError as exc:
        if exc.code != "token":
            raise
        return call(_token(cache_key, fetch, fresh=True))


def _identities(contacts: list[PlannedContact], channel: str) -> dict[int, str]:
    return dict(ChannelIdentity.objects.filter(customer_id__in={c.policy.holder_id for c in contacts},
                                               channel=channel).values_list("customer_id", "value"))


def _send_each(contacts: list[PlannedContact], *, channel: str, now: dt.datetime, send) -> int:
    """The shared loop: template, address, key, hand-over, outcome. `send(contact, address,
    template, subject, body, key)` returns the provider's id or raises GatewayError."""
    from outreach.services.dispatch import _keys_set, _mark_failed, _mark_sent, _variables

    current = templates_current(channels=[channel], kinds={c.kind for c in contacts})
    addresses = _identities(contacts, channel)
    sent = 0
    for contact in contacts:
        holder = contact.policy.holder
        template = template_pick(current, channel=channel, kind=contact.kind, language=holder.language)
        address = addresses.get(holder.pk, "")
        if template is None or not address or (holder.contact_validity or {}).get(channel) == "failed":
            _mark_failed(contact, error="no template" if template is None else f"no {channel} address", now=now,
                         temporary=False)
            continue
        key = contact.idempotency_key or f"rd{channel}{contact.pk:010d}"
        if not contact.idempotency_key:
            _keys_set({contact.pk: key}, template=template)
        subject, body = template_render(template, _variables(contact))
        try:
            provider_id = send(contact, address, template, subject, body.strip(), key)
        except GatewayError as exc:
            logger.warning("%s message %s failed: %s", channel, contact.pk, exc)
            if exc.code == "gone":  # the customer left the account / removed the app: that channel failed
                _channel_fail(holder, channel)
            _mark_failed(contact, error=str(exc), now=now, temporary=exc.temporary)
            continue
        _mark_sent(contact, template=template, address=mask_identity(address), now=now, provider_ref=provider_id)
        sent += 1
    return sent


def _channel_fail(holder, channel: str) -> None:
    from audit.services import audit_context
    from policies.models import Customer

    with transaction.atomic(), audit_context(reason=f"{channel} address gone", job="outreach_dispatch"):
        customer = Customer.objects.select_for_update().get(pk=holder.pk)
        customer.contact_validity = {**(customer.contact_validity or {}), channel: "failed"}
        customer.save(update_fields=["contact_validity", "updated_at"])


def wechat_send_batch(contacts: list[PlannedContact], *, now: dt.datetime) -> int:
    from outreach.gateways import wechat_mp

    endpoint, app_id = settings.OUTREACH_WECHAT_ENDPOINT, settings.OUTREACH_WECHAT_APP_ID

    def fetch():
        return wechat_mp.access_token_fetch(endpoint=endpoint, app_id=app_id,
                                            app_secret=settings.OUTREACH_WECHAT_APP_SECRET)

    def send(contact, openid, template, subject, body, key):
        variables = contact_variables(contact)
        data = {"first": body, "keyword1": str(variables["policy_no"]), "keyword2": f"{variables['amount']}元",
                "keyword3": str(variables["grace_end"]), "remark": subject}
        return _with_token(f"outreach:wechat-token:{app_id}", fetch, lambda token: wechat_mp.template_send(
            endpoint=endpoint, access_token=token, openid=openid, client_msg_id=key,
            template_id=template.provider_template_code or settings.OUTREACH_WECHAT_TEMPLATE_ID, data=data))

    return _send_each(contacts, channel="wechat", now=now, send=send)


def app_push_send_batch(contacts: list[PlannedContact], *, now: dt.datetime) -> int:
    from outreach.gateways import getui

    endpoint, app_id = settings.OUTREACH_APP_PUSH_ENDPOINT, settings.OUTREACH_APP_PUSH_APP_ID

    def fetch():
        return getui.token_fetch(endpoint=endpoint, app_id=app_id, app_key=settings.OUTREACH_APP_PUSH_APP_KEY,
                                 master_secret=settings.OUTREACH_APP_PUSH_MASTER_SECRET)

    def send(contact, cid, template, subject, body, key):
        return _with_token(f"outreach:getui-token:{app_id}", fetch, lambda token: getui.push_single(
            endpoint=endpoint, app_id=app_id, token=token, cid=cid, title=subject or body[:20], body=body,
            request_id=key))

    return _send_each(contacts, channel="app", now=now, send=send)


def contact_variables(contact: PlannedContact) -> dict:
    from outreach.services.dispatch import _variables

    return _variables(contact)


def channel_identity_set(*, customer, channel: str, value: str) -> ChannelIdentity:
    """The customer's openid or push client id (the WeChat binding and the app's registration
    call it)."""
    identity, _created = ChannelIdentity.objects.update_or_create(customer=customer, channel=channel,
                                                                  defaults={"value": value})
    return identity


