"""Test data for renewals (factory_boy): teams, collection plans and their steps, cases;
deterministic (sequences, never random).

Rows written directly, as a lead's admin entries or the nightly run leave them. A case made here
is open and has no history row, no team, deadline nor priority parts until the night's refresh
(renewals.services.case_refresh) or the test gives them:

    WorkTeamFactory(team__name="广州续期组", branches=["GD-GZ"])
    CaseFactory(policy=gz, opened_on=AS_OF, priority=100)
    PlanStepFactory(plan=CollectionPlan.objects.get(is_default=True), code="T+2", offset_days=2)
"""

import datetime as dt

import factory
from factory.django import DjangoModelFactory

from accounts.models import Team
from policies.tests.factories import PolicyFactory, branches_named
from renewals.models import Application, Case, CollectionPlan, PlanStep, WorkTeam

# the letter a step's code starts with (T-60, G-5, R+1), by anchor
ANCHOR_LETTERS = {"due": "T", "grace_end": "G", "lapse": "R"}


class TeamFactory(DjangoModelFactory):
    """A team (accounts.Team: its lead and members); what the workbench knows of it is a WorkTeam.
    `members`: the users in it."""

    class Meta:
        model = Team
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"续期{n + 1}组")
    lead = None

    @factory.post_generation
    def members(obj, create, extracted, **kwargs):
        if create and extracted:
            obj.members.add(*extracted)


class WorkTeamFactory(DjangoModelFactory):
    """A renewal team working 09:00-18:00. `branches`: branch codes or Branch objects it serves
    (none unless given)."""

    class Meta:
        model = WorkTeam
        skip_postgeneration_save = True

    team = factory.SubFactory(TeamFactory)
    kind = WorkTeam.Kind.RENEWAL

    @factory.post_generation
    def branches(obj, create, extracted, **kwargs):
        if not create or not extracted:
            return
        obj.branches.set(branches_named(extracted))


class CollectionPlanFactory(DjangoModelFactory):
    """An active plan for no product in particular, not the default; steps are PlanStepFactory's."""

    class Meta:
        model = CollectionPlan

    name = factory.Sequence(lambda n: f"测试计划{n + 1}")


class PlanStepFactory(DjangoModelFactory):
    """A reminder one day after the due date (T+1) on the customer's preferred channel, without
    conditions. The code follows the anchor and offset (T-7, G-5, R+1) unless given."""

    class Meta:
        model = PlanStep

    plan = factory.SubFactory(CollectionPlanFactory)
    anchor = PlanStep.Anchor.DUE
    offset_days = 1
    code = factory.LazyAttribute(lambda o: f"{ANCHOR_LETTERS.get(o.anchor, 'D')}{o.offset_days:+d}")
    action = PlanStep.Action.REMINDER


class CaseFactory(DjangoModelFactory):
    """An open overdue follow-up case of a policy, opened on 2026-11-25, unassigned and unheld."""

    class Meta:
        model = Case

    policy = factory.SubFactory(PolicyFactory)
    type = Case.Type.OVERDUE
    status = Case.Status.OPEN
    opened_on = dt.date(2026, 11, 25)


class ApplicationFactory(DjangoModelFactory):
    """A premium deferral submitted for a second person's approval, as a clerk's servicing form
    leaves it (`created_by` is required: the clerk who entered it). `applied_on` 2026-11-25."""

    class Meta:
        model = Application

    policy = factory.SubFactory(PolicyFactory)
    kind = Application.Kind.DEFERRAL
    status = Application.Status.SUBMITTED
    applied_on = dt.date(2026, 11, 25)
    effective_date = dt.date(2026, 12, 1)
    details = factory.LazyFunction(lambda: {"end": "2027-05-31"})
