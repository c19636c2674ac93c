"""What renewals plugs into the apps to its left at start-up (RenewalsConfig.ready): their nightly
steps join the pipeline in their place, and risk's actions on a confirmed flag are renewals'
services. Outreach, risk and scoring import nothing of renewals; renewals wires them here."""

import datetime as dt

from django.utils.translation import gettext_lazy as _

from outreach.services.cancellation import contacts_cancel_ended
from policies.models import PolicyStatus
from policies.selectors import policy_in_scope
from renewals.services.case_refresh import cases_refresh
from renewals.services.holds import hold_request
from renewals.services.steps import step_register
from risk.registry import flag_action_register
from risk.services.evaluation import risk_aggregate, risk_evaluate
from scoring.services.scores import lapse_risk_score

RISK_HOLD_DAYS = 30


def nightly_steps_register() -> None:
    step_register("contacts_cancel", contacts_cancel_ended, chunked=True, after="terminate",
                  label=_("Suppress the reminders of policies that stopped paying"))
    # the score before the cases, whose priority reads it the same night
    step_register("lapse_risk", lapse_risk_score, chunked=True, after="contacts_cancel", label=_("Score the lapse risk"))
    step_register("case_refresh", cases_refresh, chunked=True, after="collection_steps",
                  label=_("Route, date, score and close the cases"))
    # risk after the cases (its flags may hold collection steps from the next night on)
    step_register("risk_aggregate", risk_aggregate, chunked=False, after="case_refresh",
                  label=_("Risk rules across the portfolio"))
    step_register("risk", risk_evaluate, chunked=True, after="risk_aggregate",
                  label=_("Risk rules per policy: raise the flags"))


def flag_hold_collection(*, flag, policies, actor, as_of: dt.date, reason: str) -> None:
    """A confirmed flag's action: a hold of the live policies' collection steps, asked for by the
    reviewer (a team lead approves it, like any hold)."""
    for policy in policies:
        live = policy.status in (PolicyStatus.IN_FORCE, PolicyStatus.DEFERRED)
        if live and policy_in_scope(user=actor, policy=policy):
            hold_request(policy=policy, start=as_of, end=as_of + dt.timedelta(days=RISK_HOLD_DAYS), actor=actor,
                         reason=f"risk flag {flag.pk}: {reason}"[:256])


def flag_actions_register() -> None:
    flag_action_register(code="hold_collection", handler=flag_hold_collection,
                         label=_("Hold the policies' collection steps for 30 days (a lead approves)"))
