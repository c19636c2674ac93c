"""Payment links (issue 16): a short link to one policy's premium, opened on a phone without a
login, handing over to Alipay or WeChat Pay. The link is outreach's; the order and the money are
billing's (billing.services.platform_payments), the link's reference being paylink:<code>.

A link is a DB token: 12 characters from an alphabet without look-alikes (60 random bits), shown
as ABCD-EFGH-JKMN so a clerk can read it out on a call. It expires (PAYLINK_TTL_HOURS); once money
came through it, it says so and hands over nothing more. Reminders carry it as the template
variable {{ payment_link }}: issued when a text uses it, one live link per policy reused by the
reminders that follow while it has a day or more to run."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils.translation import gettext as _

from accounts.roles import perm
from audit.services import operation_record
from billing.models import PlatformOrder
from billing.services.platform_payments import (
    Payable,
    platform_order_create,
    platform_order_paid,
    policy_payable,
)
from core.errors import ApplicationError
from outreach.models import PaymentLink
from policies.models import Policy
from policies.selectors import policy_scope_check

ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # 32 symbols: no 0/O, 1/I
CODE_LENGTH = 12
# a reminder reuses the policy's live link while it has at least this long to run
REUSE_MIN_LEFT = dt.timedelta(hours=24)


def code_new() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def code_display(code: str) -> str:
    return "-".join(code[i:i + 4] for i in range(0, len(code), 4))


def code_normalize(text: str) -> str:
    """What a person typed or read back: case and separators do not matter."""
    return "".join(ch for ch in (text or "").upper() if ch.isalnum())


def paylink_reference(link: PaymentLink) -> str:
    return f"paylink:{link.code}"


def paylink_url(link: PaymentLink) -> str:
    return settings.PAYLINK_BASE_URL.rstrip("/") + reverse("paylinks:page", args=[link.code])


def mask_name(name: str) -> str:
    name = name or ""
    return name[:1] + "*" * max(1, len(name) - 1) if name else ""


def _live_link(policy: Policy, *, now: dt.datetime) -> PaymentLink | None:
    for link in PaymentLink.objects.filter(policy=policy, expires_at__gt=now + REUSE_MIN_LEFT).order_by("-expires_at"):
        if platform_order_paid(reference=paylink_reference(link)) is None:
            return link
    return None


def paylink_issue(*, policy: Policy, now: dt.datetime, actor=None, fresh: bool = False) -> PaymentLink:
    """The policy's live link (a new one when it has none, or `fresh`). A person issuing one
    (a clerk on a call) needs the right to work cases on the policy; that is in the trail."""
    if now.tzinfo is None:
        raise TypeError("now must be aware")
    if actor is not None:
        if not actor.has_perm(perm("work_cases")):
            raise ApplicationError(_("Your role cannot send payment links."), status=403)
        policy_scope_check(user=actor, policy=policy)
    link = None if fresh else _live_link(policy, now=now)
    if link is not None:
        return link
    expires_at = now + dt.timedelta(hours=settings.PAYLINK_TTL_HOURS)
    source = PaymentLink.Source.CLERK if actor is not None else PaymentLink.Source.REMINDER
    for _attempt in range(5):  # a collision of 60 random bits: practically never, then another code
        try:
            with transaction.atomic():
                link = PaymentLink.objects.create(code=code_new(), policy=policy, source=source,
                                                  created_by=actor, expires_at=expires_at)
            break
        except IntegrityError:
            continue
    if link is None:
        raise ApplicationError(_("No payment link could be made; please try again."))
    if actor is not None:
        operation_record(action="paylink_issue", actor=actor, object_type="policy", object_ref=policy.policy_no,
                         details={"link": code_display(link.code), "expires_at": expires_at.isoformat()})
    return link


class PaymentLinkVariable:
    """{{ payment_link }} in a reminder: the link is issued only when a text renders it."""

    def __init__(self, *, policy: Policy, now: dt.datetime):
        self.policy, self.now, self._url = policy, now, ""

    def __str__(self) -> str:
        if not self._url:
            self._url = paylink_url(paylink_issue(policy=self.policy, now=self.now))
        return self._url


# --- the page -------------------------------------------------------------------------------------

@dataclass
class PaylinkPage:
    link: PaymentLink
    state: str  # open, paid, expired, nothing_due
    masked_name: str
    policy_no: str
    product: str
    payable: Payable
    paid: PlatformOrder | None = None

    @property
    def amount(self) -> Decimal:
        return self.payable.amount


def paylink_get(*, code: str) -> PaymentLink:
    link = (PaymentLink.objects.select_related("policy__holder", "policy__product")
            .filter(code=code_normalize(code)).first())
    if link is None:
        raise ApplicationError(_("This payment link is not valid."), status=404)
    return link


def paylink_page(*, code: str, now: dt.datetime, as_of: dt.date) -> PaylinkPage:
    """What the page shows: paid (money came through the link) before expired, expired before
    the amount; an open link asks for what is due now, to the cent."""
    link = paylink_get(code=code)
    policy = link.policy
    page = PaylinkPage(link=link, state="open", masked_name=mask_name(policy.holder.name), policy_no=policy.policy_no,
                       product=policy.product.name, payable=Payable(Decimal("0.00")))
    page.paid = platform_order_paid(reference=paylink_reference(link))
    if page.paid is not None:
        page.state = "paid"
    elif link.expires_at <= now:
        page.state = "expired"
    else:
        page.payable = policy_payable(policy=policy, as_of=as_of)
        if page.payable.amount <= 0:
            page.state = "nothing_due"
    return page


def paylink_hand_over(*, code: str, platform: str, now: dt.datetime, as_of: dt.date, return_url: str,
                      client_ip: str) -> str:
    """The platform's address for the buyer's browser: an order for what is due now. An expired
    or used link, or nothing due, hands over nothing."""
    page = paylink_page(code=code, now=now, as_of=as_of)
    if page.state == "paid":
        raise ApplicationError(_("This payment link has already been used to pay. Thank you."), status=409)
    if page.state == "expired":
        raise ApplicationError(_("This payment link has expired."), status=410)
    if page.state == "nothing_due":
        raise ApplicationError(_("Nothing is due on this policy now."), status=409)
    subject = _("Renewal premium, policy %(policy_no)s") % {"policy_no": page.policy_no}
    _order, url = platform_order_create(
        policy=page.link.policy, platform=platform, reference=paylink_reference(page.link), amount=page.amount,
        subject=subject, expires_at=page.link.expires_at, return_url=return_url, client_ip=client_ip, now=now)
    return url


# --- the policy page's panel ----------------------------------------------------------------------

def paylink_panel(request, policy: Policy):
    """The live link for a clerk to read out (or send), and the button to issue one."""
    if not request.user.has_perm(perm("view_portfolio")):
        return None
    from django.utils import timezone

    now = timezone.now()
    link = (PaymentLink.objects.filter(policy=policy, expires_at__gt=now).order_by("-expires_at").first())
    paid = platform_order_paid(reference=paylink_reference(link)) if link is not None else None
    return {"link": link, "url": paylink_url(link) if link is not None else "",
            "code": code_display(link.code) if link is not None else "", "paid": paid,
            "can_issue": request.user.has_perm(perm("work_cases")), "policy_no": policy.policy_no}
