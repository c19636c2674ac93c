"""E-mailed reports (issue 15): each subscriber gets the dashboard of the period just ended, within
their own branches: the figures as text and as HTML with the dashboard's charts as PNG images
drawn on the server (reporting.charts, matplotlib) and shown inline (Content-ID), and its Excel
attached. Sent by the nightly step kpi_reports after the snapshot; a subscription is claimed for
the night by a conditional UPDATE, so a rerun of the night sends nothing twice, and the mail
leaves after the claim commits."""

import datetime as dt
from email.mime.image import MIMEImage

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _

from accounts.roles import perm
from core.dates import add_months
from core.errors import ApplicationError
from reporting.charts import report_charts
from reporting.dashboard import dashboard_figures, dashboard_sheets
from reporting.exports import workbook_bytes
from reporting.models import ReportSubscription
from reporting.selectors import FILTER_FIELDS


def subscription_create(*, user, frequency: str, filters: dict) -> ReportSubscription:
    if not user.has_perm(perm("view_reports")):
        raise ApplicationError(_("your role cannot see reports"), status=403)
    if frequency not in ReportSubscription.Frequency.values:
        raise ApplicationError(_("unknown frequency"), errors={"frequency": [_("unknown frequency")]})
    if not user.email:
        raise ApplicationError(_("your account has no e-mail address"))
    kept = {k: str(v)[:64] for k, v in filters.items() if k in (*FILTER_FIELDS, "team") and v}
    return ReportSubscription.objects.create(user=user, frequency=frequency, filters=kept)


def subscription_cancel(*, subscription: ReportSubscription, user) -> None:
    if subscription.user_id != user.pk:
        raise ApplicationError(_("not your subscription"), status=404)
    ReportSubscription.objects.filter(pk=subscription.pk).update(active=False)


def report_period(frequency: str, as_of: dt.date) -> tuple[dt.date, dt.date] | None:
    """The period a subscription reports on the night of as_of, or None when it is not its day."""
    if frequency == ReportSubscription.Frequency.MONTHLY and as_of.day == 1:
        return add_months(as_of, -1), as_of - dt.timedelta(days=1)
    if frequency == ReportSubscription.Frequency.WEEKLY and as_of.weekday() == 0:
        return as_of - dt.timedelta(days=7), as_of - dt.timedelta(days=1)
    return None


def report_message(*, subscription: ReportSubscription, date_from: dt.date,
                   date_to: dt.date) -> EmailMultiAlternatives:
    user = subscription.user
    with translation.override(user.language):
        figures = dashboard_figures(user=user, date_from=date_from, date_to=date_to, filters=subscription.filters)
        intro = _("Renewal Desk: figures from %(start)s to %(end)s, as of %(day)s, for your branches.") % {
            "start": date_from.isoformat(), "end": date_to.isoformat(),
            "day": figures["data_as_of"].isoformat() if figures["data_as_of"] else "-"}
        lines = [intro, ""]
        for card in figures["cards"]:
            figure = card["figure"]
            rate = "-" if figure["rate"] is None else f"{figure['rate'] * 100:.2f}%"
            lines.append(f"{card['metric'].name}: {rate} ({figure['numerator']} / {figure['denominator']})")
        lines += ["", _("By branch:")]
        for row in figures["slices"]["branch"]:
            rate = row["collection_rate"]["rate"]
            lines.append(f"  {row['label']}: {'-' if rate is None else f'{rate * 100:.2f}%'}")
        subject = _("Renewal Desk report %(start)s to %(end)s") % {"start": date_from.isoformat(),
                                                                   "end": date_to.isoformat()}
        charts = report_charts(figures["chart_data"])
        html = render_to_string("reporting/email_report.html", {
            "subject": subject, "intro": intro, "cards": figures["cards"], "branches": figures["slices"]["branch"],
            "charts": charts, "LANGUAGE_CODE": translation.get_language()})
        message = EmailMultiAlternatives(subject=subject, body="\n".join(lines),
                                         from_email=settings.DEFAULT_FROM_EMAIL, to=[user.email])
        message.attach_alternative(html, "text/html")
        # multipart/related: the HTML and the images it names by Content-ID travel together
        message.mixed_subtype = "related"  # type: ignore[attr-defined]  # django-stubs lack EmailMessage.mixed_subtype
        for chart in charts:
            image = MIMEImage(chart.png, "png")
            image.add_header("Content-ID", f"<{chart.cid}>")
            image.add_header("Content-Disposition", "inline", filename=f"{chart.cid}.png")
            message.attach(image)
        message.attach(f"kpis-{date_from.isoformat()}-{date_to.isoformat()}.xlsx",
                       workbook_bytes(sheets=dashboard_sheets(figures)),
                       "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    return message


def kpi_reports(as_of: dt.date, id_from: int, id_to: int) -> int:
    """The nightly step (unchunked, after kpi_alerts): the reports due tonight. Returns how many."""
    sent = 0
    due = ReportSubscription.objects.filter(active=True).select_related("user").filter(
        Q(last_sent_on__isnull=True) | Q(last_sent_on__lt=as_of))
    for subscription in due:
        period = report_period(subscription.frequency, as_of)
        if period is None or not subscription.user.is_active or not subscription.user.email:
            continue
        claimed = ReportSubscription.objects.filter(pk=subscription.pk).filter(
            Q(last_sent_on__isnull=True) | Q(last_sent_on__lt=as_of)).update(last_sent_on=as_of)
        if not claimed:  # another worker took it
            continue
        message = report_message(subscription=subscription, date_from=period[0], date_to=period[1])
        transaction.on_commit(message.send)
        sent += 1
    return sent
