"""The policy status machine, written once: which statuses exist in which groups, which
transitions are allowed and by which rule. The per-policy services (policies/services/status.py)
check against it; the nightly set-based steps (renewals/services/steps.py) and the feed import
take their status values from it and pass them to SQL as bound parameters.
"""

from dataclasses import dataclass

from policies.models import PolicyStatus

S = PolicyStatus

# a policy that still owes premiums and may pay them (allocation, matching, collection)
PAYING = (S.IN_FORCE, S.LAPSED, S.DEFERRED)
# its effect is not ended: the orphan step and the servicing pages work on these
LIVE = PAYING
# outcomes the core system owns: after a policy's first import a later feed may still move it to
# these, and only to these (../shared/formats/policy-feed.md, "Who owns the status")
FEED_OWNED = (S.TERMINATED, S.SURRENDERED, S.MATURED, S.PAID_UP)
# ours after the first import: a later feed's different value is listed, not applied
OURS = (S.IN_FORCE, S.LAPSED, S.DEFERRED, S.REDUCED_PAID_UP)
ENDED = (S.TERMINATED, S.SURRENDERED, S.MATURED)


@dataclass(frozen=True)
class Transition:
    rule: str
    sources: tuple[str, ...]  # statuses it may start from
    target: str


# The rules that move a policy, and from where. A rule name is what the status history's `rule`
# column and the trail's context record.
LAPSE_AFTER_GRACE = Transition("lapse_after_grace", (S.IN_FORCE,), S.LAPSED)
LAPSE_REVERSAL = Transition("lapse_reversal", (S.LAPSED,), S.IN_FORCE)
TERMINATE_AFTER_WINDOW = Transition("terminate_after_reinstatement_window", (S.LAPSED,), S.TERMINATED)
REINSTATEMENT = Transition("reinstatement", (S.LAPSED,), S.IN_FORCE)
DEFERRAL = Transition("deferral_application", (S.IN_FORCE,), S.DEFERRED)
DEFERRAL_END = Transition("deferral_end", (S.DEFERRED,), S.IN_FORCE)
REDUCED_PAID_UP = Transition("reduced_paid_up_application", (S.IN_FORCE,), S.REDUCED_PAID_UP)

TRANSITIONS = {t.rule: t for t in (LAPSE_AFTER_GRACE, LAPSE_REVERSAL, TERMINATE_AFTER_WINDOW, REINSTATEMENT,
                                   DEFERRAL, DEFERRAL_END, REDUCED_PAID_UP)}


def transition_allowed(*, rule: str, current: str, target: str) -> bool:
    """Whether `rule` may move a policy from `current` to `target`. Rules the machine does not
    know (a feed's outcome, a manual correction) are checked by their own service."""
    transition = TRANSITIONS.get(rule)
    if transition is None:
        return True
    return transition.target == target and current in transition.sources


def feed_may_set(*, current: str, incoming: str) -> bool:
    """After the first import: a feed applies only an outcome the core system owns."""
    return incoming != current and incoming in FEED_OWNED


def sql_values(statuses) -> list[str]:
    """Status values for a bound `= ANY(%(name)s)` parameter."""
    return [str(s) for s in statuses]
