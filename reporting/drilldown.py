"""The policies behind a figure (issue 15): the same period, the same slice (as of the day the
figure is keyed by), within the reader's branches. The one place reporting reads the raw
installments, lapses and debit lines, and only one page of them at a time (or one export)."""

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.utils.translation import gettext_lazy as _

from accounts.masking import mask_account, mask_phone
from policies.models import Agent, Branch, Product
from policies.selectors import branches_for, user_is_head_office
from reporting.selectors import team_branches_q
from reporting.services.snapshot import PARAMS, RECEIVED_IN_TIME, SLICE_JOIN


@dataclass(frozen=True)
class Drill:
    metric: str
    title: object
    columns: tuple  # (key, label, kind) kind: text, date, money, int
    sql: str  # rows of the figure; {where} takes the slice and scope filters on s.*
    order: str


COMMON = (("policy_no", _("Policy number"), "text"), ("holder", _("Policyholder"), "text"),
          ("phone", _("Mobile phone"), "text"), ("branch", _("Branch"), "text"), ("product", _("Product"), "text"))
POLICY_JOIN = """JOIN policies_policy p ON p.id = {policy}
JOIN policies_customer h ON h.id = p.holder_id
JOIN policies_branch br ON br.id = s.branch_id
JOIN policies_product pr ON pr.id = s.product_id"""
COMMON_SELECT = "p.policy_no, h.name AS holder, h.phone, br.name AS branch, pr.name AS product"

DRILLS = {
    "collection_rate": Drill(
        "collection_rate", _("Installments due"),
        COMMON + (("due_date", _("Due date"), "date"), ("grace_end", _("Grace ends"), "date"),
                  ("amount_due", _("Amount due"), "money"), ("received", _("Received in time"), "money")),
        """SELECT """ + COMMON_SELECT + """, i.due_date, i.grace_end, i.amount_due, """ + RECEIVED_IN_TIME + """ AS received
        FROM billing_installment i
        """ + SLICE_JOIN.format(policy="i.policy_id", day="i.due_date") + "\n" + POLICY_JOIN.format(policy="i.policy_id")
        + """
        WHERE i.due_date BETWEEN %(from)s AND %(to)s AND i.sequence >= 1 AND i.status <> ALL(%(not_due)s) {where}""",
        "i.due_date, p.policy_no"),
    "lapse_rate": Drill(
        "lapse_rate", _("Policies lapsed"),
        COMMON + (("effective_date", _("Lapse date"), "date"),),
        """SELECT """ + COMMON_SELECT + """, c.effective_date
        FROM policies_policystatuschange c
        """ + SLICE_JOIN.format(policy="c.policy_id", day="c.effective_date") + "\n"
        + POLICY_JOIN.format(policy="c.policy_id") + """
        WHERE c.effective_date BETWEEN %(from)s AND %(to)s AND c.voided_at IS NULL AND c.status = %(lapsed)s {where}""",
        "c.effective_date, p.policy_no"),
    "reinstatement_rate": Drill(
        "reinstatement_rate", _("Policies reinstated"),
        COMMON + (("effective_date", _("Reinstated on"), "date"),),
        """SELECT """ + COMMON_SELECT + """, c.effective_date
        FROM policies_policystatuschange c
        """ + SLICE_JOIN.format(policy="c.policy_id", day="c.effective_date") + "\n"
        + POLICY_JOIN.format(policy="c.policy_id") + """
        WHERE c.effective_date BETWEEN %(from)s AND %(to)s AND c.voided_at IS NULL AND c.status = %(in_force)s
          AND c.rule = %(reinstatement_rule)s {where}""",
        "c.effective_date, p.policy_no"),
    "payment_success_rate": Drill(
        "payment_success_rate", _("Debit lines"),
        COMMON + (("collection_date", _("Collection date"), "date"), ("bank_name", _("Bank"), "text"),
                  ("bank_account", _("Bank account"), "text"), ("status", _("Status"), "text"),
                  ("reason", _("Failure reason"), "text"), ("amount", _("Amount"), "money")),
        """SELECT """ + COMMON_SELECT + """, b.collection_date, l.bank_name, l.bank_account, l.status, l.reason, l.amount
        FROM billing_debitline l JOIN billing_debitbatch b ON b.id = l.batch_id
        """ + SLICE_JOIN.format(policy="l.policy_id", day="b.collection_date") + "\n"
        + POLICY_JOIN.format(policy="l.policy_id") + """
        WHERE b.collection_date BETWEEN %(from)s AND %(to)s {where}""",
        "b.collection_date, p.policy_no, l.attempt"),
}


def _where(*, user, filters: dict, params: dict[str, Any]) -> str:
    clauses = []
    if user is not None and not user_is_head_office(user=user):
        params["scope_ids"] = list(branches_for(user=user).values_list("id", flat=True))
        clauses.append("s.branch_id = ANY(%(scope_ids)s)")
    lookups = {"branch": (Branch.objects, "s.branch_id"), "product": (Product.objects, "s.product_id"),
               "agent": (Agent.objects, "s.agent_id")}
    for name, (manager, column) in lookups.items():
        if filters.get(name):
            params[name] = list(manager.filter(code=filters[name]).values_list("id", flat=True))
            clauses.append(f"{column} = ANY(%({name})s)")
    for name in ("payment_method", "sales_channel"):
        if filters.get(name):
            params[name] = filters[name]
            clauses.append(f"s.{name} = %({name})s")
    if filters.get("team"):
        params["team_branches"] = list(Branch.objects.filter(team_branches_q(int(filters["team"]), prefix=""))
                                       .values_list("id", flat=True))
        clauses.append("s.branch_id = ANY(%(team_branches)s)")
    if filters.get("bank"):
        params["bank"] = filters["bank"]
        clauses.append("l.bank_name = %(bank)s")
    if filters.get("reason"):
        params["reason"] = filters["reason"]
        clauses.append("l.reason = %(reason)s")
    return "".join(f" AND {c}" for c in clauses)


def _masked(row: dict) -> dict:
    row["phone"] = mask_phone(row.get("phone"))
    if "bank_account" in row:
        row["bank_account"] = mask_account(row["bank_account"])
    return row


def drill_rows(*, metric: str, date_from: dt.date, date_to: dt.date, user, filters: dict,
               limit: int | None = None, offset: int = 0) -> tuple[int, list[dict]]:
    """(count, rows) of the figure's policies; all rows when limit is None (exports)."""
    drill = DRILLS[metric]
    params: dict[str, Any] = {**PARAMS, "from": date_from, "to": date_to}
    if "bank" in filters or "reason" in filters:
        if metric != "payment_success_rate":
            filters = {k: v for k, v in filters.items() if k not in ("bank", "reason")}
    sql = drill.sql.format(where=_where(user=user, filters=filters, params=params))
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM ({sql}) x", params)
        count = cursor.fetchone()[0]
        paging = "" if limit is None else f" LIMIT {int(limit)} OFFSET {int(offset)}"
        cursor.execute(f"{sql} ORDER BY {drill.order}{paging}", params)
        names = [c.name for c in cursor.description]
        rows = [_masked(dict(zip(names, r, strict=True))) for r in cursor.fetchall()]
    return count, rows
