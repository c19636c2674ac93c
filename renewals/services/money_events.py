"""What renewals does when money moves in billing or a contact bounces in outreach (core.events,
DESIGN.md section 4).

money_allocated: money valued inside grace that lands after the night lapsed the policy makes
the lapse void at once, in the allocation's transaction (statement import, manual match and its
approval, payment webhook, debit result): the status API and the policy page say in force the
moment the money is booked. The night's lapse_reversal step stays as the safety net; both run the
same SQL (renewals.services.steps), here restricted to the policies the money moved.
"""

from audit.services import audit_context
from core.events import Event
from renewals.models import CASE_ON_CONFLICT
from renewals.services.steps import LAPSE_VOID_REASON, lapse_reversal_for


def on_money_allocated(event: Event) -> None:
    from renewals.services.case_refresh import cases_close_gone

    with audit_context(rule="lapse_reversal", reason=LAPSE_VOID_REASON, money_event=event.source):
        lapse_reversal_for(as_of=event.as_of, policy_ids=event.policy_ids)
    # the workbench: a collection case (a promise's follow-up too) whose money came closes itself,
    # with the reason in its history, in the allocation's transaction
    cases_close_gone(as_of=event.as_of, policy_ids=event.policy_ids, source=event.source or "money_allocated")


# contact_bounced: a customer whose mobile failed and who has no other working channel goes to the
# contact-repair queue (DESIGN.md section 3, Orphans): one open case per policy, as the plan's cases
CONTACT_REPAIR_SQL = f"""
WITH opened AS (
    INSERT INTO renewals_case (policy_id, type, status, outcome, escalation, priority, priority_parts, question,
                               answer, category, opened_on, created_at, updated_at)
    SELECT p.id, %(type)s, %(open)s, '', 0, 0, '{{}}'::jsonb, '', '', '', %(as_of)s, now(), now()
    FROM policies_policy p JOIN policies_customer c ON c.id = p.holder_id
    WHERE p.id = ANY(%(ids)s::bigint[]) AND p.status = ANY(%(live)s)
      AND NOT (c.phone <> '' AND COALESCE(c.contact_validity ->> 'sms', '') <> %(failed)s)
      AND NOT (c.email <> '' AND COALESCE(c.contact_validity ->> 'email', '') <> %(failed)s
               AND NOT (%(email)s = ANY(c.opt_outs)))
    {CASE_ON_CONFLICT} DO NOTHING
    RETURNING id
)
INSERT INTO renewals_casehistory (case_id, kind, from_status, to_status, reason, details, created_at)
SELECT id, 'opened', '', %(open)s, 'the mobile failed and no other channel works', '{{}}'::jsonb, now() FROM opened
"""


def on_contact_bounced(event: Event) -> None:
    from django.db import connection

    from policies import lifecycle
    from renewals.models import Case

    with audit_context(rule="contact_repair", reason="the customer's mobile failed and no other channel works"), \
            connection.cursor() as cursor:
        cursor.execute(CONTACT_REPAIR_SQL, {
            "type": Case.Type.CONTACT_REPAIR.value, "open": Case.Status.OPEN.value, "as_of": event.as_of,
            "ids": sorted(event.policy_ids), "live": lifecycle.sql_values(lifecycle.LIVE), "failed": "failed",
            "email": "email"})
