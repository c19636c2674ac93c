"""Payment-platform callbacks: signed (HMAC-SHA256 of the raw body with a shared secret), fresh
(timestamp within 5 minutes), and creating the payment once whatever the number of retries."""

import datetime as dt
import hashlib
import hmac
import json
import time
from decimal import Decimal
from typing import cast

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from billing.models import Payment
from billing.services.matching import payment_match
from billing.services.payments import payment_create
from core.dates import SHANGHAI
from core.errors import ApplicationError
from core.events import PAYMENT_RECEIVED, event_publish

MAX_AGE_SECONDS = 300
PLATFORMS = ("alipay", "wechatpay")


def webhook_signature(*, body: bytes, secret: str) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def webhook_verify(*, body: bytes, signature: str, timestamp: str, now: float | None = None) -> None:
    secret = settings.PAYMENT_WEBHOOK_SECRET
    if not secret:
        raise ApplicationError("webhooks are not configured", status=403)
    if not hmac.compare_digest(webhook_signature(body=body, secret=secret), (signature or "").strip().lower()):
        raise ApplicationError("bad signature", errors={"signature": ["does not match the body"]}, status=403)
    try:
        age = (now if now is not None else time.time()) - int(timestamp)
    except (TypeError, ValueError):
        raise ApplicationError("bad timestamp", errors={"timestamp": ["unix seconds expected"]}, status=403) from None
    if not -MAX_AGE_SECONDS <= age <= MAX_AGE_SECONDS:
        raise ApplicationError("stale request", errors={"timestamp": ["older than 5 minutes"]}, status=403)


def webhook_body_parse(*, body: bytes):
    """The signed body as JSON, its numbers exact: a fraction (and NaN or Infinity, which Python's
    json would take) becomes a Decimal, never a float; the fields' own checks then refuse it by name."""
    try:
        return json.loads(body, parse_float=Decimal, parse_constant=Decimal)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        raise ApplicationError(_("The body is not JSON."), errors={"body": [_("The body is not JSON.")]}) from None


@transaction.atomic
def webhook_payment_receive(
    *, platform: str, transaction_id: str, amount: Decimal, paid_at: dt.datetime, as_of: dt.date,
    currency: str = "CNY", payer_name: str = "", payer_account: str = "", policy_no: str = "", remittance: str = "",
) -> tuple[Payment, bool]:
    """Record the platform's payment once (by platform and transaction id) and match it. The values
    come validated from the callback's InputSerializer; the checks here are the rules a caller
    from elsewhere must not slip past."""
    if platform not in PLATFORMS:
        raise ApplicationError("unknown platform", errors={"platform": ["alipay or wechatpay"]})
    if not amount.is_finite() or amount <= 0 or cast(int, amount.as_tuple().exponent) < -2:  # finite: an int exponent
        raise ApplicationError("bad amount", errors={"amount": ["a positive amount with two decimals"]})
    if paid_at.tzinfo is None:
        raise ApplicationError("paid_at needs a time zone", errors={"paid_at": ["ISO 8601 with an offset"]})
    payment, created = payment_create(
        source=platform, account_no=f"{platform}:{settings.MAIN_RECEIVING_ACCOUNT}",
        identity=f"{platform}:{transaction_id}", value_date=paid_at.astimezone(SHANGHAI).date(), amount=amount,
        currency=currency, payer_name=payer_name, payer_account=payer_account, reference=transaction_id,
        remittance=" ".join((policy_no, remittance)).strip(),
    )
    if created:
        event_publish(PAYMENT_RECEIVED, as_of=as_of, payment_ids=[payment.pk], source="webhook")
        payment_match(payment=payment, as_of=as_of)
        payment.refresh_from_db()
    return payment, created
