"""The policies behind a figure (issue 15): the same period, the same slice (as of the day the
figure is keyed by), within the reader's branches. The one place reporting reads the raw
installments, lapses and debit lines, and only one page of them at a time (or one export); how
many there are comes from the facts, as the figure clicked was counted."""

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.utils.translation import gettext_lazy as _

from accounts.masking import mask_account, mask_phone
from policies.models import Agent, Branch, Product
from policies.selectors import branches_for, user_is_head_office
from reporting.selectors import team_branches_q
from reporting.services.snapshot import PARAMS, RECEIVED_IN_TIME, SLICE_JOIN, floor_of


@dataclass(frozen=True)
class Drill:
    metric: str
    title: object
    columns: tuple  # (key, label, kind) kind: text, date, money, int
    # the page's rows, keys only: {where} takes the slice and scope filters on s.*; ordered by
    # `order` (columns of the row itself, so the page is chosen before anything is joined to it)
    # and limited there; `outer` joins the policy, the holder, the names to that page, as r
    inner: str
    outer: str
    order: str


COMMON = (("policy_no", _("Policy number"), "text"), ("holder", _("Policyholder"), "text"),
          ("phone", _("Mobile phone"), "text"), ("branch", _("Branch"), "text"), ("product", _("Product"), "text"))
OUTER_JOIN = """FROM ({inner}) r
JOIN policies_policy p ON p.id = r.policy_id
JOIN policies_customer h ON h.id = p.holder_id
JOIN policies_branch br ON br.id = r.branch_id
JOIN policies_product pr ON pr.id = r.product_id"""
COMMON_SELECT = "p.policy_no, h.name AS holder, h.phone, br.name AS branch, pr.name AS product"
SLICE_COLUMNS = "s.branch_id, s.product_id"
STATUS_CHANGE_INNER = ("SELECT c.policy_id, c.effective_date, c.id, " + SLICE_COLUMNS + """
        FROM policies_policystatuschange c JOIN policies_policy pf ON pf.id = c.policy_id
        """ + SLICE_JOIN.format(policy="c.policy_id", day="c.effective_date") + """
        WHERE c.effective_date BETWEEN %(from)s AND %(to)s AND c.voided_at IS NULL AND {condition}
          AND c.effective_date >= """ + floor_of("pf") + """ {{where}}""")

DRILLS = {
    "collection_rate": Drill(
        "collection_rate", _("Installments due"),
        COMMON + (("due_date", _("Due date"), "date"), ("grace_end", _("Grace ends"), "date"),
                  ("amount_due", _("Amount due"), "money"), ("received", _("Received in time"), "money")),
        """SELECT i.id, i.policy_id, i.due_date, i.grace_end, i.amount_due, """ + SLICE_COLUMNS + """
        FROM billing_installment i JOIN policies_policy pf ON pf.id = i.policy_id
        """ + SLICE_JOIN.format(policy="i.policy_id", day="i.due_date") + """
        WHERE i.due_date BETWEEN %(from)s AND %(to)s AND i.sequence >= 1 AND i.status <> ALL(%(not_due)s)
          AND i.due_date >= """ + floor_of("pf") + """ {where}""",
        "SELECT " + COMMON_SELECT + ", r.due_date, r.grace_end, r.amount_due, "
        + RECEIVED_IN_TIME.replace("i.id", "r.id").replace("i.grace_end", "r.grace_end") + " AS received",
        "due_date, policy_id"),
    "lapse_rate": Drill(
        "lapse_rate", _("Policies lapsed"),
        COMMON + (("effective_date", _("Lapse date"), "date"),),
        STATUS_CHANGE_INNER.format(condition="c.status = %(lapsed)s"),
        "SELECT " + COMMON_SELECT + ", r.effective_date",
        "effective_date, policy_id, id"),
    "reinstatement_rate": Drill(
        "reinstatement_rate", _("Policies reinstated"),
        COMMON + (("effective_date", _("Reinstated on"), "date"),),
        STATUS_CHANGE_INNER.format(condition="c.status = %(in_force)s AND c.rule = %(reinstatement_rule)s"),
        "SELECT " + COMMON_SELECT + ", r.effective_date",
        "effective_date, policy_id, id"),
    "payment_success_rate": Drill(
        "payment_success_rate", _("Debit lines"),
        COMMON + (("collection_date", _("Collection date"), "date"), ("bank_name", _("Bank"), "text"),
                  ("bank_account", _("Bank account"), "text"), ("status", _("Status"), "text"),
                  ("reason", _("Failure reason"), "text"), ("amount", _("Amount"), "money")),
        """SELECT l.id, l.policy_id, b.collection_date, l.attempt, l.bank_name, l.bank_account, l.status, l.reason,
               l.amount, """ + SLICE_COLUMNS + """
        FROM billing_debitline l JOIN billing_debitbatch b ON b.id = l.batch_id
        """ + SLICE_JOIN.format(policy="l.policy_id", day="b.collection_date") + """
        WHERE b.collection_date BETWEEN %(from)s AND %(to)s {where}""",
        "SELECT " + COMMON_SELECT + ", r.collection_date, r.bank_name, r.bank_account, r.status, r.reason, r.amount",
        "collection_date, policy_id, attempt, id"),
}


def _where(*, user, filters: dict, params: dict[str, Any]) -> str:
    clauses = []
    if user is not None and not user_is_head_office(user=user):
        params["scope_ids"] = list(branches_for(user=user).values_list("id", flat=True))
        clauses.append("s.branch_id = ANY(%(scope_ids)s::bigint[])")
    lookups = {"branch": (Branch.objects, "s.branch_id"), "product": (Product.objects, "s.product_id"),
               "agent": (Agent.objects, "s.agent_id")}
    for name, (manager, column) in lookups.items():
        if filters.get(name):
            params[name] = list(manager.filter(code=filters[name]).values_list("id", flat=True))
            clauses.append(f"{column} = ANY(%({name})s::bigint[])")
    for name in ("payment_method", "sales_channel"):
        if filters.get(name):
            params[name] = filters[name]
            clauses.append(f"s.{name} = %({name})s")
    if filters.get("team"):
        params["team_branches"] = list(Branch.objects.filter(team_branches_q(int(filters["team"]), prefix=""))
                                       .values_list("id", flat=True))
        clauses.append("s.branch_id = ANY(%(team_branches)s::bigint[])")
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
    inner = drill.inner.format(where=_where(user=user, filters=filters, params=params))
    paging = "" if limit is None else f" LIMIT {int(limit)} OFFSET {int(offset)}"
    order = ", ".join(f"r.{column}" for column in drill.order.split(", "))
    inner_order = ", ".join(column.split(".")[-1] for column in drill.order.split(", "))
    sql = (f"{drill.outer} " + OUTER_JOIN.format(inner=f"SELECT * FROM ({inner}) q ORDER BY {inner_order}{paging}")
           + f" ORDER BY {order}")
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = [c.name for c in cursor.description]
        rows = [_masked(dict(zip(names, r, strict=True))) for r in cursor.fetchall()]
    if limit is None:
        return len(rows), rows
    return drill_count(metric=metric, date_from=date_from, date_to=date_to, user=user, filters=filters), rows


# the figure each drill-down lists, as the snapshot counted it (the same rows: the same period,
# slice as of the day, scope); counting the rows themselves reads every installment of the period
COUNT_FIGURES = {"collection_rate": "installments_due", "lapse_rate": "policies_lapsed",
                 "reinstatement_rate": "policies_reinstated", "payment_success_rate": "lines_sent"}


def drill_count(*, metric: str, date_from: dt.date, date_to: dt.date, user, filters: dict) -> int:
    """How many rows the drill-down lists, from the facts (as of the latest snapshot)."""
    from reporting.selectors import daily_sums, debit_sums

    figure = COUNT_FIGURES[metric]
    sums = debit_sums if metric == "payment_success_rate" else daily_sums
    totals = sums(date_from=date_from, date_to=date_to, user=user, keys=[], filters=filters)
    return int((totals.get(()) or {}).get(figure) or 0)
