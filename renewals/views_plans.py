"""The clerks' read-only page of the collection plans (issue 12: what a role may do has a page):
clerks and team leads read what the plans will do and when; admins edit them in the admin."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils.translation import gettext as _

from accounts.roles import perm
from billing.models import DebitLine
from outreach.services.templates import template_pick, templates_current
from policies.models import Channel, Policy
from renewals.models import Case, PlanStep
from renewals.selectors_plans import collection_plans_active

# step actions that send a message, by the outreach template kind they use
MESSAGE_ACTIONS = {PlanStep.Action.REMINDER, PlanStep.Action.ROBOT_CALL}


@dataclass
class StepRow:
    code: str
    when: str
    action: str
    channel: str
    template: str
    conditions: list[str]


def _when(step: PlanStep) -> str:
    days = abs(step.offset_days)
    if step.anchor == PlanStep.Anchor.DAILY:
        return _("Every night while the conditions hold")
    if step.anchor == PlanStep.Anchor.GRACE_END:
        if step.offset_days < 0:
            return _("%(days)s days before the end of grace") % {"days": days}
        if step.offset_days > 0:
            return _("%(days)s days after the end of grace") % {"days": days}
        return _("On the last day of grace")
    if step.anchor == PlanStep.Anchor.LAPSE:
        if step.offset_days > 0:
            return _("%(days)s days after the lapse date, while reinstatement is possible") % {"days": days}
        return _("On the lapse date, while reinstatement is possible")
    if step.offset_days < 0:
        return _("%(days)s days before the due date") % {"days": days}
    if step.offset_days > 0:
        return _("%(days)s days after the due date") % {"days": days}
    return _("On the due date")


def _labels(codes: str, choices) -> str:
    names = dict(choices)
    return "、".join(str(names.get(code.strip(), code.strip())) for code in codes.split(",") if code.strip())


def _conditions(step: PlanStep) -> list[str]:
    found = []
    if step.payment_method:
        found.append(_("Payment method: %(v)s") % {"v": _labels(step.payment_method, Policy.PaymentMethod.choices)})
    if step.segments:
        found.append(_("Customer segment: %(v)s") % {"v": _labels(step.segments, Policy.Segment.choices)})
    if step.debit_failure_reasons:
        found.append(_("Last debit failed: %(v)s") % {"v": _labels(step.debit_failure_reasons,
                                                                      DebitLine.Reason.choices)})
    if step.overdue_reasons:
        found.append(_("Overdue reason recorded: %(v)s") % {"v": _labels(step.overdue_reasons,
                                                                           Policy.OverdueReason.choices)})
    if step.min_unpaid_count:
        found.append(_("At least %(n)s unpaid installments") % {"n": step.min_unpaid_count})
    if step.min_amount and step.min_amount > 0:
        found.append(_("At least %(amount)s yuan unpaid") % {"amount": step.min_amount})
    risk = getattr(step, "min_lapse_risk", None)  # the scoring app's threshold, where present
    if risk is not None:
        found.append(_("Lapse risk at least %(percent)s%%") % {"percent": f"{(Decimal(risk) * 100).normalize():f}"})
    if step.urgent:
        found.append(_("Urgent"))
    return found


def _template(step: PlanStep, current: dict) -> str:
    if step.action not in MESSAGE_ACTIONS:
        return "—"
    if not step.channel:
        return _("The template of the customer's preferred channel")
    template = template_pick(current, channel=step.channel, kind=step.action, language="zh-hans")
    if template is None:
        return _("No template in use: nothing is sent on this channel")
    text = template.subject or template.body
    excerpt = text if len(text) <= 40 else text[:40] + "…"
    return _("Version %(version)s: %(text)s") % {"version": template.version, "text": excerpt}


def _action(step: PlanStep) -> str:
    label = str(step.get_action_display())
    if step.action == PlanStep.Action.OPEN_CASE and step.case_type:
        label = f"{label}（{dict(Case.Type.choices).get(step.case_type, step.case_type)}）"
    return label


@login_required
def plans_readonly(request):
    plans = list(collection_plans_active(user=request.user))
    current = templates_current(channels=Channel.values, kinds=[str(a) for a in MESSAGE_ACTIONS])
    channels = dict(Channel.choices)
    rows = [
        (plan, [StepRow(step.code, _when(step), _action(step),
                        str(channels.get(step.channel, step.channel)) if step.channel else _("Preferred channel"),
                        _template(step, current), _conditions(step)) for step in plan.steps.all()])
        for plan in plans
    ]
    return render(request, "renewals/plan_readonly.html", {
        "plans": rows, "may_edit": request.user.has_perm(perm("configure_system")),
    })
