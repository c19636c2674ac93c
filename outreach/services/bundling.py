"""One message per channel for a customer's several policies due in the same week (issue 16),
grouped at dispatch: the claimed contacts of one customer, channel and kind whose installments
fall due in the same ISO week, with the customer's pending contacts of that week not yet due,
become one message. Its contact is the lead; the others (covered) take the lead's outcome, point
at it (bundle_lead) and say so (reason bundled). OUTREACH_GROUP_SAME_WEEK switches it off.
Robot calls are not grouped: a call's answer is about one policy."""

import datetime as dt
from collections import defaultdict

from django.db import connection, transaction

from outreach.models import PlannedContact

Status, Reason = PlannedContact.Status, PlannedContact.Reason
NOT_GROUPED = frozenset({"phone"})


def _key(contact: PlannedContact) -> tuple:
    year, week, _day = contact.installment.due_date.isocalendar()
    return contact.policy.holder_id, contact.channel, contact.kind, year, week


# the customer's pending contacts of the same channel and kind whose installment falls in the week,
# of the other policies (one each: its earliest), taken with a conditional UPDATE (a contact another
# worker took meanwhile is no longer pending)
SIBLINGS_SQL = f"""
UPDATE outreach_plannedcontact pc SET status = %(sending)s, attempts = pc.attempts + 1, updated_at = now()
WHERE pc.id IN (
    SELECT DISTINCT ON (s.policy_id, k.monday, s.channel, s.kind) s.id FROM outreach_plannedcontact s
    JOIN policies_policy p ON p.id = s.policy_id
    JOIN billing_installment i ON i.id = s.installment_id
    JOIN unnest(%(holders)s::bigint[], %(channels)s::text[], %(kinds)s::text[], %(mondays)s::date[])
         k(holder_id, channel, kind, monday)
      ON p.holder_id = k.holder_id AND s.channel = k.channel AND s.kind = k.kind
         AND i.due_date >= k.monday AND i.due_date < k.monday + 7
    WHERE s.status {PlannedContact.PENDING_SQL_IN} AND NOT (s.policy_id = ANY(%(claimed_policies)s))
    ORDER BY s.policy_id, k.monday, s.channel, s.kind, s.planned_at, s.id)
  AND pc.status {PlannedContact.PENDING_SQL_IN}
RETURNING pc.id
"""


def contacts_bundle(contacts: list[PlannedContact]) -> tuple[list[PlannedContact], dict[int, list[int]]]:
    """The claimed contacts of one channel -> (the messages' lead contacts, each carrying
    `.bundle`, the covered contacts; {lead id: covered ids})."""
    groupable = [c for c in contacts if c.channel not in NOT_GROUPED]
    if not groupable:
        return contacts, {}
    keys = sorted({_key(c) for c in groupable})
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(SIBLINGS_SQL, {
            "sending": Status.SENDING.value, "holders": [k[0] for k in keys], "channels": [k[1] for k in keys],
            "kinds": [k[2] for k in keys], "mondays": [dt.date.fromisocalendar(k[3], k[4], 1) for k in keys],
            "claimed_policies": sorted({c.policy_id for c in groupable})})
        extra = [row[0] for row in cursor.fetchall()]
    if extra:
        from outreach.services.dispatch import _load

        contacts = contacts + _load(extra)
    groups: dict[tuple, list[PlannedContact]] = defaultdict(list)
    leads: list[PlannedContact] = []
    for contact in contacts:
        if contact.channel in NOT_GROUPED:
            contact.bundle = []  # type: ignore[attr-defined]  # ad-hoc, read back with getattr
            leads.append(contact)
        else:
            groups[_key(contact)].append(contact)
    covered: dict[int, list[int]] = {}
    for members in groups.values():
        members.sort(key=lambda c: (c.planned_at, c.pk))
        # one contact per policy in a message: a policy's other step of the week is a message of its own
        firsts: list[PlannedContact] = []
        seen: set[int] = set()
        for contact in members:
            if contact.policy_id in seen:
                contact.bundle = []  # type: ignore[attr-defined]  # ad-hoc, read back with getattr
                leads.append(contact)
            else:
                seen.add(contact.policy_id)
                firsts.append(contact)
        lead, others = firsts[0], firsts[1:]
        lead.bundle = others  # type: ignore[attr-defined]  # ad-hoc, read back with getattr
        leads.append(lead)
        if others:
            covered[lead.pk] = [c.pk for c in others]
    return leads, covered


FINISH_SQL = """
UPDATE outreach_plannedcontact pc SET status = l.status, planned_at = l.planned_at, sent_at = l.sent_at,
    provider_ref = l.provider_ref, template_version_id = l.template_version_id, address = l.address,
    error = l.error, idempotency_key = l.idempotency_key, bundle_lead_id = l.id,
    reason = CASE WHEN l.status IN (%(sent)s, %(delivered)s) THEN %(bundled)s ELSE pc.reason END, updated_at = now()
FROM unnest(%(covered)s::bigint[], %(leads)s::bigint[]) v(covered_id, lead_id)
JOIN outreach_plannedcontact l ON l.id = v.lead_id
WHERE pc.id = v.covered_id AND pc.status = %(sending)s
"""


def contacts_bundle_finish(covered: dict[int, list[int]]) -> int:
    """The covered contacts take their lead's outcome (sent, retried later with it, or failed)."""
    pairs = [(c, lead) for lead, ids in covered.items() for c in ids]
    if not pairs:
        return 0
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(FINISH_SQL, {
            "sent": Status.SENT.value, "delivered": Status.DELIVERED.value, "bundled": Reason.BUNDLED.value,
            "sending": Status.SENDING.value, "covered": [p[0] for p in pairs], "leads": [p[1] for p in pairs]})
        return cursor.rowcount


def bundle_variables(contact: PlannedContact, variables: dict) -> dict:
    """The message's variables naming every policy it covers: numbers and products listed, the
    amounts added up, the earliest due date and grace end."""
    others = getattr(contact, "bundle", None) or []
    if not others:
        return variables
    members = [contact, *others]
    return {**variables,
            "policy_no": "、".join(c.policy.policy_no for c in members),
            "product": "、".join(dict.fromkeys(c.policy.product.name for c in members)),
            "amount": f"{sum(c.installment.amount_due - c.installment.amount_paid for c in members):.2f}",
            "due_date": min(c.installment.due_date for c in members),
            "grace_end": min(c.installment.grace_end for c in members),
            "policy_count": len(members)}
