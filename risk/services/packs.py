"""The evidence pack for a regulator: a ZIP with an XLSX summary (the flag, its reason, its
policies, its reviews) and each evidence section as CSV; its creation is on the trail. The
evidence is the flag's snapshot as raised, masked for the reader like the screen; the monthly
compliance list (large cash, confirmed cases) as an XLSX."""

import datetime as dt
import io
import zipfile
from decimal import Decimal

from django.db import transaction
from django.db.models import Q
from django.http import Http404
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from audit.services import operation_record
from core.exports import csv_bytes, xlsx_bytes
from policies.models import Customer, Policy
from policies.selectors import policy_list, scope_denied
from risk.models import Flag, Review
from risk.selectors import (
    confirmed_cases,
    flag_evidence,
    flag_get,
    flag_list,
    flag_policies,
    flag_reviews,
    flag_sentence,
    large_cash_list,
)
from risk.services.flags import _check_reviewer


def _cell(value):
    if isinstance(value, (dict, list)):
        return str(value)
    return "" if value is None else value


@transaction.atomic
def flag_pack(*, flag: Flag, actor, as_of: dt.date, request_path: str = "") -> tuple[str, bytes]:
    _check_reviewer(actor)
    flag = flag_get(user=actor, pk=flag.pk, request_path=request_path)
    evidence = flag_evidence(user=actor, flag=flag, reveal=True)
    subject = flag.subject_key if flag.subject_type != "account" else "****" + flag.subject_key[-4:]
    summary: list[list] = [
        [_("Flag"), str(flag.pk)], [_("Rule"), flag.rule.name], [_("Rule version"), flag.rule.version],
        [_("Kind"), flag.kind], [_("Severity"), flag.get_severity_display()],
        [_("Subject"), f"{flag.get_subject_type_display()} {subject}"],
        [_("Status"), flag.get_status_display()], [_("Raised on"), flag.raised_on],
        [_("Reason"), flag_sentence(flag)], [_("Outcome reason"), flag.outcome_reason],
        [_("Exported on"), as_of], [_("Exported by"), actor.get_username()],
    ]
    policies = [[p.policy_no, p.holder.name, p.branch.name, p.get_status_display(), p.modal_premium]
                for p in flag_policies(user=actor, flag=flag)]
    reviews = [[r.at.date(), r.get_action_display(), r.actor.get_username() if r.actor else "", r.reason]
               for r in flag_reviews(flag=flag)]
    sheets = [(_("Summary"), [_("Field"), _("Value")], summary),
              (pgettext("list of policies", "Policies"),
               [_("Policy number"), _("Policyholder"), _("Branch"), _("Status"), _("Modal premium")],
               policies),
              (_("Reviews"), [_("Date"), _("Action"), _("User"), _("Reason")], reviews)]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("summary.xlsx", xlsx_bytes(sheets=sheets))
        for section, rows in evidence.items():
            headers = sorted({key for row in rows for key in row})
            archive.writestr(f"evidence_{section}.csv",
                             csv_bytes(headers=headers, rows=[[_cell(row.get(h)) for h in headers] for row in rows]))
    Review.objects.create(flag=flag, action=Review.Action.PACK, actor=actor, on=as_of, reason="")
    operation_record(action="risk_flag_pack", actor=actor, object_type="risk_flag", object_ref=str(flag.pk),
                     details={"sections": sorted(evidence), "as_of": as_of.isoformat()})
    return f"risk-flag-{flag.pk}-{as_of.isoformat()}.zip", out.getvalue()


@transaction.atomic
def customer_pack(*, customer: Customer, actor, as_of: dt.date, request_path: str = "") -> tuple[str, bytes]:
    """Every flag the reader may see about a customer (as policyholder or insured, or as the
    flag's subject), one summary row each and their evidence rows, for a regulator."""
    _check_reviewer(actor)
    policy_ids = list(Policy.objects.filter(Q(holder=customer) | Q(insured=customer)).values_list("pk", flat=True))
    policy = Policy.objects.filter(pk__in=policy_ids).order_by("pk").first()
    if policy is None:
        raise Http404("customer not found")
    visible = policy_list(user=actor).filter(pk__in=policy_ids)
    if not visible.exists():
        scope_denied(user=actor, obj=policy, what=f"customer {customer.pk}", request_path=request_path)
    flags = list(flag_list(user=actor).filter(Q(policy_ids__overlap=policy_ids)
                                              | Q(subject_type="customer", subject_key=str(customer.pk)))
                 .order_by("raised_on", "id"))
    rows = [[f.pk, f.raised_on, f.rule.name, f.rule.version, f.get_severity_display(), f.get_status_display(),
             flag_sentence(f), f.outcome_reason] for f in flags]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("summary.xlsx", xlsx_bytes(sheets=[(_("Summary"), [
            _("Flag"), _("Raised on"), _("Rule"), _("Rule version"), _("Severity"), _("Status"), _("Reason"),
            _("Outcome reason")], rows)]))
        for flag in flags:
            for section, evidence in flag_evidence(user=actor, flag=flag, reveal=True).items():
                headers = sorted({key for row in evidence for key in row})
                archive.writestr(f"flag_{flag.pk}_{section}.csv", csv_bytes(
                    headers=headers, rows=[[_cell(row.get(h)) for h in headers] for row in evidence]))
    for flag in flags:
        Review.objects.create(flag=flag, action=Review.Action.PACK, actor=actor, on=as_of, reason="")
    operation_record(action="risk_customer_pack", actor=actor, object_type="customer", object_ref=str(customer.pk),
                     details={"flags": [f.pk for f in flags], "as_of": as_of.isoformat()})
    return f"risk-customer-{customer.pk}-{as_of.isoformat()}.zip", out.getvalue()


def compliance_month_xlsx(*, actor, month_start: dt.date, month_end: dt.date) -> bytes:
    """The month's large cash transactions and confirmed (or escalated) cases, to file."""
    _check_reviewer(actor)
    cash = [[c.payment.value_date, c.receipt_no, c.payment.payer_name, c.payer_id_no and "****" + c.payer_id_no[-4:],
             Decimal(c.payment.amount), c.payment.reference]
            for c in large_cash_list(user=actor, month_start=month_start, month_end=month_end)]
    cases = [[f.reviewed_on, f.rule.name, f.get_status_display(), flag_sentence(f), f.outcome_reason]
             for f in confirmed_cases(user=actor, month_start=month_start, month_end=month_end)]
    operation_record(action="risk_compliance_export", actor=actor, object_type="risk_month",
                     object_ref=month_start.strftime("%Y-%m"), details={"cash": len(cash), "cases": len(cases)})
    return xlsx_bytes(sheets=[
        (_("Large cash"), [_("Date"), _("Receipt number"), _("Payer name"), _("Payer's ID number"), _("Amount"),
                           _("Policy number")], cash),
        (_("Confirmed cases"), [_("Date"), _("Rule"), _("Status"), _("Reason"), _("Outcome reason")], cases),
    ])
