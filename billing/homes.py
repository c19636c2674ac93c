"""Finance's home: today's imports, what waits in suspense, matches waiting for a second person,
and the reconciliation of the business date (core.homes, registered in BillingConfig.ready)."""

from decimal import Decimal

from django.db.models import Count, Sum
from django.utils.translation import gettext_lazy as _

from billing.models import Assignment, Payment
from billing.selectors import payment_list, statement_import_list
from core.dates import business_today
from core.homes import home_register


def _finance(request) -> dict:
    user, today = request.user, business_today()
    waiting = payment_list(user=user).filter(status__in=[Payment.Status.SUSPENSE, Payment.Status.PROPOSED],
                                             direction=Payment.Direction.CREDIT)
    totals = waiting.aggregate(lines=Count("id"), amount=Sum("amount"))
    return {
        "today": today,
        "imports": statement_import_list(user=user).filter(created_at__date=today)[:10],
        "suspense_lines": totals["lines"] or 0,
        "suspense_amount": totals["amount"] or Decimal("0.00"),
        "approvals": Assignment.objects.filter(status=Assignment.Status.PENDING_APPROVAL,
                                               payment__in=payment_list(user=user)).exclude(matched_by=user).count(),
    }


def homes_register() -> None:
    home_register(role="finance", precedence=40, label=_("Today's money"), template="billing/home.html",
                  context=_finance)
