"""What renewals plugs into the apps to its left at start-up (RenewalsConfig.ready): their nightly
steps join the pipeline in their place, and risk's actions on a confirmed flag are renewals'
services. Outreach, risk and scoring import nothing of renewals; renewals wires them here."""

import datetime as dt

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from audit.services import operation_record
from core.dates import SHANGHAI
from outreach.services.cancellation import contacts_cancel_ended
from outreach.services.proofs import proofs_purge
from policies.models import PolicyStatus
from policies.selectors import policy_in_scope
from renewals.models import Case, WorkTeam
from renewals.services.case_refresh import cases_refresh
from renewals.services.cases import case_open, department_team_for
from renewals.services.holds import hold_request
from renewals.services.steps import step_register
from risk.registry import flag_action_register
from risk.selectors import flag_sentence
from risk.services.evaluation import risk_aggregate, risk_evaluate
from scoring.services.retention import snapshots_prune
from scoring.services.scores import lapse_risk_score

RISK_HOLD_DAYS = 30
# the clerk's case of a confirmed flag: the clerk calls the customer to verify what the flag found.
# The workbench has no case type of its own for it yet; contact repair is the clerk's verification
# call (routed to the branch's renewal team, prioritised and dated like the others).
RISK_HANDOFF_TYPE = Case.Type.CONTACT_REPAIR


def _company_text(text, **params) -> str:
    """A case's question written by the system: stored in the company's language (LANGUAGE_CODE,
    Simplified Chinese), as a clerk would have typed it; a clerk reads it as written."""
    with translation.override(settings.LANGUAGE_CODE):
        return str(text) % params if params else str(text)


def delivery_proofs_prune(as_of: dt.date, id_from: int = 0, id_to: int = 2**62) -> int:
    """The night's retention of delivery proofs (OUTREACH_PROOF_RETENTION_DAYS before the start of
    the business date, Asia/Shanghai): a whole-table step, its chunk bounds unused."""
    return proofs_purge(now=dt.datetime.combine(as_of, dt.time(0), tzinfo=SHANGHAI))


def nightly_steps_register() -> None:
    step_register("contacts_cancel", contacts_cancel_ended, chunked=True, after="terminate",
                  label=_("Suppress the reminders of policies that stopped paying"))
    step_register("delivery_proofs", delivery_proofs_prune, chunked=False, after="contacts_cancel",
                  label=_("Delete the delivery proofs past their retention"))
    # the score before the cases, whose priority reads it the same night
    step_register("lapse_risk", lapse_risk_score, chunked=True, after="contacts_cancel", label=_("Score the lapse risk"))
    step_register("lapse_risk_snapshots", snapshots_prune, chunked=False, after="lapse_risk",
                  label=_("Delete the feature snapshots past their retention"))
    step_register("case_refresh", cases_refresh, chunked=True, after="collection_steps",
                  label=_("Route, date, score and close the cases"))
    # risk after the cases (its flags may hold collection steps from the next night on)
    step_register("risk_aggregate", risk_aggregate, chunked=False, after="case_refresh",
                  label=_("Risk rules across the portfolio"))
    # risk_flag analysed once the night raised many flags (476,329 on a migration's first night):
    # the next night's look-up of the chunk's live flags is then planned for their real number
    step_register("risk", risk_evaluate, chunked=True, after="risk_aggregate", analyze=("risk_flag",),
                  label=_("Risk rules per policy: raise the flags"))


def flag_hold_collection(*, flag, policies, actor, as_of: dt.date, reason: str) -> None:
    """A confirmed flag's action: a hold of the live policies' collection steps, asked for by the
    reviewer (a team lead approves it, like any hold)."""
    for policy in policies:
        live = policy.status in (PolicyStatus.IN_FORCE, PolicyStatus.DEFERRED)
        if live and policy_in_scope(user=actor, policy=policy):
            hold_request(policy=policy, start=as_of, end=as_of + dt.timedelta(days=RISK_HOLD_DAYS), actor=actor,
                         reason=f"risk flag {flag.pk}: {reason}"[:256])


def flag_handoff_clerk(*, flag, policies, actor, as_of: dt.date, reason: str) -> None:
    """A confirmed flag's action: a case for a clerk of each policy's renewal team (the team of its
    nearest branch), carrying the flag's readable reason and the reviewer's. A policy that already has
    an open case of that type keeps it (one per policy and type)."""
    cases = []
    question = _("Risk flag confirmed (%(rule)s): %(sentence)s Reviewer: %(reason)s") % {
        "rule": flag.rule.name, "sentence": flag_sentence(flag), "reason": reason.strip()}
    for policy in policies:
        if not policy_in_scope(user=actor, policy=policy):
            continue
        team = department_team_for(policy=policy, kind=WorkTeam.Kind.RENEWAL)
        case = case_open(policy=policy, type=RISK_HANDOFF_TYPE, actor=actor, as_of=as_of, team=team,
                         question=question)
        cases.append(case.pk)
    operation_record(action="risk_flag_handoff", actor=actor, object_type="risk_flag", object_ref=str(flag.pk),
                     reason=reason[:256], details={"cases": cases, "as_of": as_of.isoformat()})


def flag_actions_register() -> None:
    flag_action_register(code="hold_collection", handler=flag_hold_collection,
                         label=_("Hold the policies' collection steps for 30 days (a lead approves)"))
    flag_action_register(code="handoff_clerk", handler=flag_handoff_clerk,
                         label=_("Hand off to a clerk of the policy's team (a case with the flag's reason)"))


# --- outreach: robot-call results and the customers not to contact any more -------------------

# a death hand-off or a claims case: nothing more is sent to the policyholder (any status: the
# claim does not make the customer reachable again)
CLAIM_STOP_SQL = ("SELECT p.holder_id FROM renewals_case c JOIN policies_policy p ON p.id = c.policy_id "
                  f"WHERE c.type = '{Case.Type.HANDOFF_CLAIMS.value}'")


def on_call_resulted(event) -> None:
    """A robot call's result (outreach's CallResult), in the report's transaction: a promise
    creates (or moves) the workbench's promise-to-pay follow-up, waiting until the day after the
    promised date; hardship and dissatisfaction open an overdue follow-up case for a clerk, with the
    reason in its history."""
    from django.utils import timezone

    from audit.services import audit_context
    from outreach.models import CallResult
    from renewals.models import CaseHistory
    from renewals.services.cases import promise_follow_up

    now = timezone.now()
    results = CallResult.objects.filter(pk__in=event.record_ids).select_related("policy").order_by("occurred_at", "pk")
    with audit_context(rule="robot_call", reason="robot call result", job="outreach_call_reports"):
        for result in results:
            policy = result.policy
            if result.outcome == CallResult.Outcome.PROMISE and result.promised_on:
                follow_on = result.promised_on + dt.timedelta(days=1)
                parent = (Case.objects.filter(policy=policy, type=Case.Type.PROMISE, status__in=Case.OPEN_STATUSES)
                          .first() or Case.objects.filter(policy=policy, status__in=Case.OPEN_STATUSES,
                                                          type__in=[Case.Type.OVERDUE, Case.Type.FAILED_DEBIT]).first())
                if parent is not None:
                    promise_follow_up(case=parent, actor=None, as_of=event.as_of, follow_on=follow_on,
                                      promised_on=result.promised_on, now=now)
                else:
                    case_open(policy=policy, type=Case.Type.PROMISE, actor=None, as_of=event.as_of,
                              status=Case.Status.WAITING, next_action_on=follow_on, promised_on=result.promised_on,
                              question=_company_text(_("Robot call %(call)s: promise to pay on %(day)s."),
                                                     call=result.provider_id, day=result.promised_on.isoformat()))
            elif result.outcome in (CallResult.Outcome.HARDSHIP, CallResult.Outcome.DISSATISFIED):
                why = _company_text(_("Robot call: the customer reports hardship.")
                                    if result.outcome == CallResult.Outcome.HARDSHIP
                                    else _("Robot call: the customer is dissatisfied."))
                case = case_open(policy=policy, type=Case.Type.OVERDUE, actor=None, as_of=event.as_of,
                                 question=why)
                CaseHistory.objects.create(case=case, kind=CaseHistory.Kind.NOTE, reason=why,
                                           details={"call_result": result.pk, "outcome": result.outcome})


def outreach_wiring_register() -> None:
    from core.events import CALL_RESULTED, event_subscribe
    from outreach.stops import contact_stop_register

    event_subscribe(CALL_RESULTED, on_call_resulted)
    contact_stop_register("renewals.claims", CLAIM_STOP_SQL)
