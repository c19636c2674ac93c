"""The metric dictionary (issue 15): every figure of the dashboards, its numerator and denominator,
as the page /reporting/metrics/ shows them. DESIGN.md section 3, KPIs, is the source."""

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Metric:
    code: str
    name: object
    numerator: object
    denominator: object
    notes: object = ""
    provisional: bool = False
    drill: bool = True
    lower_is_better: bool = False  # a target is met at or below it (the lapse rate)


METRICS = (
    Metric("collection_rate", _("Collection rate"),
           _("Renewal premium received for the installments due in the period: money valued on or before each "
             "installment's last grace day, as known on the data-as-of date"),
           _("Renewal premium due in the period (installments after the first, not cancelled or waived)"),
           _("Keyed by the day the money is due: money that arrives later for a past due day restates that day.")),
    Metric("payment_success_rate", _("Payment success rate"),
           _("Auto-debit lines the bank paid"),
           _("Auto-debit lines with the bank's answer (paid or failed), by collection date"),
           _("Lines still awaiting the bank count in neither.")),
    Metric("lapse_rate", _("Lapse rate"),
           _("Policies that lapsed in the period (lapses later reversed do not count)"),
           _("Policies with an installment due in the period (counted once per due date)"), lower_is_better=True),
    Metric("reinstatement_rate", _("Reinstatement rate"),
           _("Policies reinstated in the period"),
           _("Policies that lapsed in the two years ending on the period's last day")),
    Metric("contact_rate", _("Contact rate"),
           _("Customers reached: a delivered robot call, or a clerk's contact that reached them or got a promise"),
           _("Customers who needed contact: a contact was planned for them or a case was opened"),
           _("Provisional: counted per day and policy while contacts and cases are being reworked."),
           provisional=True, drill=False),
    Metric("persistency_13", _("13th-month persistency (premium)"),
           _("Premium received in time for the installment of policy month 13"),
           _("Premium due in policy month 13, for the policies whose month 13 began in the period"),
           _("By issue cohort on the persistency chart, also for months 25, 37, 49 and 61. An installment older "
             "than the policy's first import is taken as paid from the core system's paid-to date, and marked "
             "as derived."), drill=False),
    Metric("persistency_13_count", _("13th-month persistency (policies)"),
           _("Policies whose month-13 installment was paid in full in time"),
           _("Policies whose month 13 began in the period"), drill=False),
    Metric("persistency_25", _("25th-month persistency (premium)"),
           _("Premium received in time for the installment of policy month 25"),
           _("Premium due in policy month 25, for the policies whose month 25 began in the period"), drill=False),
    Metric("persistency_25_count", _("25th-month persistency (policies)"),
           _("Policies whose month-25 installment was paid in full in time"),
           _("Policies whose month 25 began in the period"), drill=False),
)
METRIC_BY_CODE = {m.code: m for m in METRICS}
