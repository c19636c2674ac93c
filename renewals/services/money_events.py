"""What renewals does when billing's money moves (core.events, DESIGN.md section 4).

money_allocated: money valued inside grace that lands after the night lapsed the policy makes
the lapse void at once, in the allocation's transaction (statement import, manual match and its
approval, payment webhook, debit result): the status API and the policy page say in force the
moment the money is booked. The night's lapse_reversal step stays as the safety net; both run the
same SQL (renewals.services.steps), here restricted to the policies the money moved.
"""

from audit.services import audit_context
from core.events import Event
from renewals.services.steps import LAPSE_VOID_REASON, lapse_reversal_for


def on_money_allocated(event: Event) -> None:
    with audit_context(rule="lapse_reversal", reason=LAPSE_VOID_REASON, money_event=event.source):
        lapse_reversal_for(as_of=event.as_of, policy_ids=event.policy_ids)
