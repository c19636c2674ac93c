"""Payments through Alipay and WeChat Pay: the order handed to the platform (a payment link's
hand-over, outreach) and the platform's notification of the money (issue 16).

The hand-over goes through each platform's SDK in its real protocol: Alipay's mobile-site payment
(alipay.trade.wap.pay: a signed order string the buyer's browser takes to the gateway), WeChat Pay
API v3's H5 payment (POST /v3/pay/transactions/h5 answers an h5_url). The order names the policy
and the amount billing computed; nothing the browser sends decides either.

A notification is believed only when the platform's signature holds: Alipay's RSA2 over the sorted
parameters (without sign and sign_type) with Alipay's public key; WeChat Pay's RSA-SHA256 over
"timestamp\\nnonce\\nbody\\n" with the platform certificate of the Wechatpay-Serial header, its
resource then decrypted with the API v3 key (AES-256-GCM). A bad one changes nothing. The money
becomes one Payment per platform trade number (the same identity as billing's HMAC webhook), so a
notification delivered twice, or the same trade arriving by the webhook, is stored once; it is
assigned to the order's policy and allocated by billing's rules (a smaller amount is a partial
payment, a larger one pays ahead or goes to suspense for a refund), and allocation's money event
cancels the reminders of what it paid. Money for an order we do not know is matched like any
other line (suspense when nothing fits): money never disappears.
"""

import datetime as dt
import json
import logging
import secrets
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from urllib.parse import quote

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils.translation import gettext as _

from audit.services import operation_record
from billing.models import Installment, Payment, PlatformOrder
from billing.platforms.clients import alipay_client, wechatpay_client
from billing.services.allocations import policy_allocate
from billing.services.matching import payment_match
from billing.services.payments import payment_assign, payment_create
from core.dates import SHANGHAI
from core.errors import ApplicationError
from core.events import PAYMENT_RECEIVED, event_publish
from policies.lifecycle import PAYING
from policies.models import Policy

logger = logging.getLogger(__name__)
ZERO = Decimal("0.00")
CENT = Decimal("0.01")
PLATFORMS = tuple(PlatformOrder.Platform.values)
# the assignment's rule: the order names the policy, no matching rule is asked
RULE = "payment_link"
# an order lives at most this long (and never past its link)
ORDER_LIFETIME = dt.timedelta(hours=2)
ALIPAY_PAID = ("TRADE_SUCCESS", "TRADE_FINISHED")


@dataclass
class Payable:
    amount: Decimal
    installments: list[Installment] = field(default_factory=list)

    @property
    def due_date(self) -> dt.date | None:
        return self.installments[0].due_date if self.installments else None


def policy_payable(*, policy: Policy, as_of: dt.date) -> Payable:
    """What a payment link asks for, to the cent: every open installment due on or before the
    business date (what is left of a partly paid one); before anything falls due, the next open
    installment (a reminder at T-7 asks for the premium it announces). A policy whose effect has
    ended owes nothing."""
    if policy.status not in PAYING:
        return Payable(ZERO)
    open_ = list(Installment.objects.filter(policy=policy, status__in=Installment.OPEN_STATUSES)
                 .order_by("sequence"))
    due = [i for i in open_ if i.due_date <= as_of] or open_[:1]
    return Payable(sum((i.amount_due - i.amount_paid for i in due), ZERO), due)


def _notify_url(platform: str) -> str:
    return settings.PAYMENT_NOTIFY_BASE_URL.rstrip("/") + reverse(f"billing:notify_{platform}")


def _out_trade_no(now: dt.datetime) -> str:
    # 20 characters: WeChat Pay takes 6-32, Alipay 64
    return f"RD{now.astimezone(SHANGHAI):%y%m%d}{secrets.token_hex(6).upper()}"


def platform_order_create(*, policy: Policy, platform: str, reference: str, amount: Decimal, subject: str,
                          expires_at: dt.datetime, return_url: str, client_ip: str,
                          now: dt.datetime) -> tuple[PlatformOrder, str]:
    """The order and the address the buyer's browser goes to. An open order of the same link,
    platform and amount is handed over again (a second tap pays the same order)."""
    if platform not in PLATFORMS:
        raise ApplicationError(_("Unknown payment platform."), errors={"platform": [_("Alipay or WeChat Pay")]})
    if amount <= 0 or amount.as_tuple().exponent < -2:  # type: ignore[operator]
        raise ApplicationError(_("Nothing is due on this policy now."))
    expires_at = min(expires_at, now + ORDER_LIFETIME)
    if expires_at <= now:
        raise ApplicationError(_("This payment link has expired."))
    order = (PlatformOrder.objects.filter(reference=reference, platform=platform, amount=amount,
                                          status=PlatformOrder.Status.CREATED,
                                          expires_at__gt=now + dt.timedelta(minutes=5))
             .order_by("-created_at").first())
    if order is None:
        order = PlatformOrder.objects.create(out_trade_no=_out_trade_no(now), platform=platform, policy=policy,
                                             amount=amount, reference=reference, expires_at=expires_at)
    if platform == PlatformOrder.Platform.ALIPAY:
        return order, _alipay_hand_over(order, subject=subject, return_url=return_url)
    return order, _wechatpay_hand_over(order, subject=subject, return_url=return_url, client_ip=client_ip)


def _alipay_hand_over(order: PlatformOrder, *, subject: str, return_url: str) -> str:
    client = alipay_client()
    order_string = client.api_alipay_trade_wap_pay(
        subject=subject, out_trade_no=order.out_trade_no, total_amount=f"{order.amount:.2f}",
        return_url=return_url, notify_url=_notify_url("alipay"), quit_url=return_url,
        time_expire=f"{order.expires_at.astimezone(SHANGHAI):%Y-%m-%d %H:%M:%S}")
    return f"{settings.ALIPAY_GATEWAY}?{order_string}"


def _wechatpay_hand_over(order: PlatformOrder, *, subject: str, return_url: str, client_ip: str) -> str:
    unavailable = ApplicationError(_("WeChat Pay cannot be reached just now. Please try again in a few minutes "
                                     "or pay with Alipay."), status=503)
    try:
        code, message = wechatpay_client().pay(
            description=subject[:127], out_trade_no=order.out_trade_no,
            amount={"total": int(order.amount * 100), "currency": "CNY"},
            time_expire=order.expires_at.astimezone(SHANGHAI).isoformat(timespec="seconds"),
            notify_url=_notify_url("wechatpay"),
            scene_info={"payer_client_ip": client_ip or "127.0.0.1", "h5_info": {"type": "Wap"}})
    except Exception as exc:  # the SDK raises bare Exceptions: no answer, an answer whose signature fails
        logger.warning("wechatpay h5 order %s: %s", order.out_trade_no, exc)
        raise unavailable from exc
    if code != 200:
        logger.warning("wechatpay h5 order %s: %s %s", order.out_trade_no, code, message)
        raise unavailable
    # the H5 hand-over: the merchant appends its return page to the h5_url
    return f"{json.loads(message)['h5_url']}&redirect_url={quote(return_url, safe='')}"


def platform_order_paid(*, reference: str) -> PlatformOrder | None:
    """The paid order of a reference (a payment link), if any."""
    return (PlatformOrder.objects.filter(reference=reference, status=PlatformOrder.Status.PAID)
            .order_by("paid_at").first())


# --- notifications ------------------------------------------------------------------------------

def _refused(reason: str) -> ApplicationError:
    return ApplicationError(reason, status=401)


def _amount(value) -> Decimal:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, TypeError):
        raise ApplicationError("bad amount", errors={"amount": ["not a number"]}) from None
    if not amount.is_finite() or amount <= 0 or amount.as_tuple().exponent < -2:  # type: ignore[operator]
        raise ApplicationError("bad amount", errors={"amount": ["a positive amount with two decimals"]})
    return amount.quantize(CENT)


@transaction.atomic
def platform_payment_record(*, platform: str, out_trade_no: str, trade_no: str, amount: Decimal,
                            paid_at: dt.datetime, payer_account: str, as_of: dt.date) -> tuple[Payment, bool]:
    """The money a platform reported, stored once by its trade number and booked on the order's
    policy. Returns (payment, created)."""
    if not trade_no:
        raise ApplicationError("no trade number", errors={"trade_no": ["required"]})
    order = (PlatformOrder.objects.select_for_update().select_related("policy")
             .filter(out_trade_no=out_trade_no, platform=platform).first())
    policy_no = order.policy.policy_no if order is not None else ""
    payment, created = payment_create(
        source=platform, account_no=f"{platform}:{settings.MAIN_RECEIVING_ACCOUNT}",
        identity=f"{platform}:{trade_no}", value_date=paid_at.astimezone(SHANGHAI).date(), amount=amount,
        payer_account=payer_account, reference=out_trade_no, remittance=f"{policy_no} {out_trade_no}".strip())
    if not created:
        return payment, False
    event_publish(PAYMENT_RECEIVED, as_of=as_of, payment_ids=[payment.pk], source=f"{platform}_notification")
    if order is None:
        payment_match(payment=payment, as_of=as_of)
    else:
        payment_assign(payment=payment, policy=order.policy, amount=amount, rule=RULE)
        policy_allocate(policy_id=order.policy_id, as_of=as_of)
        order.status, order.trade_no, order.payment, order.paid_at = (PlatformOrder.Status.PAID, trade_no, payment,
                                                                      paid_at)
        order.save(update_fields=["status", "trade_no", "payment", "paid_at"])
    operation_record(action="platform_payment_receive", job=f"{platform}_notification", object_type="payment",
                     object_ref=str(payment.pk),
                     details={"platform": platform, "out_trade_no": out_trade_no, "trade_no": trade_no,
                              "amount": f"{amount:.2f}", "policy_no": policy_no,
                              "ordered": f"{order.amount:.2f}" if order is not None else ""})
    payment.refresh_from_db()
    return payment, True


def alipay_notification_receive(*, params: dict, as_of: dt.date) -> Payment | None:
    """Alipay's asynchronous notification (form parameters). Raises ApplicationError (status 401)
    when the signature does not hold; returns the payment, or None for a status that is not money
    (WAIT_BUYER_PAY, TRADE_CLOSED)."""
    data = dict(params)
    signature = data.pop("sign", "")
    try:
        verified = bool(signature) and alipay_client().verify(data, signature)  # drops sign_type from data
    except Exception:  # another sign_type, a signature that is not base64
        verified = False
    if not verified:
        raise _refused("bad signature")
    if data.get("app_id") != settings.ALIPAY_APP_ID:
        raise _refused("another app's notification")
    status = data.get("trade_status", "")
    if status == "TRADE_CLOSED":
        PlatformOrder.objects.filter(out_trade_no=data.get("out_trade_no", ""), platform="alipay",
                                     status=PlatformOrder.Status.CREATED).update(status=PlatformOrder.Status.CLOSED)
        return None
    if status not in ALIPAY_PAID:
        return None
    try:
        paid_at = dt.datetime.strptime(data.get("gmt_payment") or data["notify_time"],
                                       "%Y-%m-%d %H:%M:%S").replace(tzinfo=SHANGHAI)
    except (KeyError, ValueError):
        raise ApplicationError("bad gmt_payment", errors={"gmt_payment": ["yyyy-MM-dd HH:mm:ss"]}) from None
    # total_amount: what the buyer paid for the order (a platform-funded discount still reaches us)
    payment, _created = platform_payment_record(
        platform="alipay", out_trade_no=data.get("out_trade_no", ""), trade_no=data.get("trade_no", ""),
        amount=_amount(data.get("total_amount")), paid_at=paid_at, payer_account=data.get("buyer_id", ""),
        as_of=as_of)
    return payment


def wechatpay_notification_receive(*, headers, body: bytes, as_of: dt.date) -> Payment | None:
    """WeChat Pay's notification (JSON body, Wechatpay-* headers). Raises ApplicationError (status
    401) when the signature does not hold or the resource does not decrypt; returns the payment,
    or None for an event that is not a successful payment."""
    try:
        result = wechatpay_client().callback(headers, body)
    except Exception:  # another signature type or cipher; the certificates could not be fetched
        logger.warning("wechatpay notification not verified", exc_info=True)
        result = None
    if not result:
        raise _refused("bad signature")
    resource = result.get("resource") or {}
    if result.get("event_type") != "TRANSACTION.SUCCESS" or resource.get("trade_state") != "SUCCESS":
        return None
    if resource.get("mchid") != settings.WECHATPAY_MCHID:
        raise _refused("another merchant's notification")
    try:
        paid_at = dt.datetime.fromisoformat(resource["success_time"])
        fen = resource["amount"]["total"]
    except (KeyError, TypeError, ValueError):
        raise ApplicationError("bad transaction", errors={"resource": ["success_time and amount.total"]}) from None
    if not isinstance(fen, int) or paid_at.tzinfo is None:
        raise ApplicationError("bad transaction", errors={"resource": ["amount.total in fen, an aware time"]})
    payment, _created = platform_payment_record(
        platform="wechatpay", out_trade_no=resource.get("out_trade_no", ""),
        trade_no=resource.get("transaction_id", ""), amount=_amount(Decimal(fen) / 100), paid_at=paid_at,
        payer_account=(resource.get("payer") or {}).get("openid", ""), as_of=as_of)
    return payment
