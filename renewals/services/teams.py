"""Work teams (issue 14): a team's branches, hours and kind, beside accounts.Team's lead and
members. Administrators keep them in the admin; the demo sets its own up through here."""

import datetime as dt

from django.db import transaction

from accounts.models import Team
from policies.models import Branch
from renewals.models import WorkTeam


@transaction.atomic
def work_team_ensure(*, name: str, kind: str, branch_codes: tuple[str, ...] = (), lead=None, members=(),
                     work_start: dt.time = dt.time(9, 0), work_end: dt.time = dt.time(18, 0)) -> WorkTeam:
    """The team `name` with this kind and these branches (idempotent; members are added)."""
    team, _created = Team.objects.get_or_create(name=name)
    if lead is not None and team.lead_id != lead.pk:
        team.lead = lead
        team.save(update_fields=["lead"])
    if members:
        team.members.add(*members)
    work, _created = WorkTeam.objects.get_or_create(team=team, defaults={
        "kind": kind, "work_start": work_start, "work_end": work_end})
    if work.kind != kind:
        work.kind = kind
        work.save(update_fields=["kind"])
    if branch_codes:
        work.branches.set(Branch.objects.filter(code__in=branch_codes))
    return work
