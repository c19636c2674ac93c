"""What the channels cost this month against their budgets (issue 16). A message is a contact
handed to a gateway (sent, delivered, bounced, or failed after the hand-over) that is not covered
by another's message (bundle_lead); a month is a calendar month in Shanghai. Near the budget
(warn_percent) the outreach page says so and an alert is raised for the administrators."""

import datetime as dt
from decimal import Decimal

from django.db import connection
from django.utils.translation import gettext as _

from core.dates import SHANGHAI
from outreach.models import ChannelBudget, PlannedContact

Status = PlannedContact.Status

# sent_at is set at the hand-over; the month's rows are found by the partial index
# planned_contact_sent_at (a month is small next to the outbox)
SPENT_SQL = """
SELECT channel, count(*) FROM outreach_plannedcontact
WHERE sent_at >= %(start)s AND sent_at < %(end)s AND bundle_lead_id IS NULL
GROUP BY channel
"""


def month_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = day.replace(day=1)
    end = (start + dt.timedelta(days=32)).replace(day=1)
    return (dt.datetime.combine(start, dt.time(), tzinfo=SHANGHAI), dt.datetime.combine(end, dt.time(), tzinfo=SHANGHAI))


def channel_spending(*, now: dt.datetime) -> list[dict]:
    """Each channel with a budget row: messages this month, their cost, the budget, the share
    used (percent, one decimal) and whether to warn."""
    start, end = month_bounds(now.astimezone(SHANGHAI).date())
    with connection.cursor() as cursor:
        cursor.execute(SPENT_SQL, {"start": start, "end": end})
        counts = dict(cursor.fetchall())
    rows = []
    for budget in ChannelBudget.objects.order_by("channel"):
        messages = counts.get(budget.channel, 0)
        cost = (budget.cost_per_message * messages).quantize(Decimal("0.01"))
        share = (cost * 100 / budget.monthly_budget).quantize(Decimal("0.1")) if budget.monthly_budget else None
        rows.append({"channel": budget.channel, "messages": messages, "cost_per_message": budget.cost_per_message,
                     "cost": cost, "budget": budget.monthly_budget, "percent": share,
                     "warn": share is not None and share >= budget.warn_percent,
                     "over": share is not None and share >= 100, "month": start.date()})
    return rows


def budget_alerts_raise(*, now: dt.datetime) -> int:
    """An administrators' alert per channel near or over its budget this month (one open alert per
    channel and month, counted again while it stays open). The dispatcher calls it after a pass."""
    from core.alerts import alert_raise
    from core.models import Alert

    raised = 0
    for row in channel_spending(now=now):
        if not row["warn"]:
            continue
        title = _("%(channel)s has used %(percent)s%% of its monthly budget (%(cost)s of %(budget)s CNY)") % {
            "channel": row["channel"], "percent": row["percent"], "cost": row["cost"], "budget": row["budget"]}
        alert_raise(kind="outreach.budget", key=f"{row['channel']}:{row['month']:%Y-%m}", title=title,
                    severity=Alert.Severity.ERROR if row["over"] else Alert.Severity.WARNING,
                    details={k: str(v) for k, v in row.items()})
        raised += 1
    return raised
