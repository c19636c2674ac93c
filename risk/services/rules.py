"""Rules as versioned data: an edit writes a new version (a draft), the backtest shows what it
would raise over the stored history without raising anything, and switching it on retires the
version before it. Flags keep the version that raised them."""

import datetime as dt
from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext as _

from accounts.roles import perm
from audit.services import audit_context, operation_record
from core.errors import ApplicationError
from risk.kinds import KINDS
from risk.models import Flag, Rule
from risk.services.evaluation import rule_hits

EDITABLE = ("name", "params", "threshold", "severity", "products", "branches", "active_from", "active_to")


def _check(actor) -> None:
    if not actor.has_perm(perm("configure_risk_rules")):
        raise ApplicationError(_("you may not configure risk rules"), status=403)


@transaction.atomic
def rule_version_create(*, rule: Rule, actor, reason: str, data: dict) -> Rule:
    """A new draft version of `rule` with `data` changed; the switched-on one keeps running."""
    _check(actor)
    if not reason.strip():
        raise ApplicationError(_("a reason is required"), errors={"change_reason": [_("required")]})
    if data.get("threshold") is not None and Decimal(data["threshold"]) <= 0:
        raise ApplicationError(_("the threshold must be positive"), errors={"threshold": [_("must be positive")]})
    latest = Rule.objects.select_for_update().filter(key=rule.key).order_by("-version").first()
    assert latest is not None  # the rule itself has this key
    values = {name: getattr(latest, name) for name in EDITABLE}
    values.update({name: value for name, value in data.items() if name in EDITABLE})
    if values["active_from"] and values["active_to"] and values["active_to"] < values["active_from"]:
        raise ApplicationError(_("the end is before the start"), errors={"active_to": [_("before the start")]})
    Rule.objects.filter(key=rule.key, state=Rule.State.DRAFT).update(state=Rule.State.RETIRED)
    with audit_context(user=actor.pk, username=actor.get_username(), reason=reason):
        new = Rule.objects.create(key=rule.key, version=latest.version + 1, kind=latest.kind, state=Rule.State.DRAFT,
                                  change_reason=reason[:256], created_by=actor, **values)
    operation_record(action="risk_rule_version", actor=actor, object_type="risk_rule",
                     object_ref=f"{new.key} v{new.version}", reason=reason[:256],
                     details={name: str(values[name]) for name in EDITABLE})
    return new


@transaction.atomic
def rule_activate(*, rule: Rule, actor, reason: str = "") -> Rule:
    """Switch a version on; the version that was on is retired (its flags keep naming it)."""
    _check(actor)
    rule = Rule.objects.select_for_update().get(pk=rule.pk)
    if rule.state == Rule.State.ACTIVE:
        return rule
    with audit_context(user=actor.pk, username=actor.get_username(), reason=reason):
        Rule.objects.filter(key=rule.key, state=Rule.State.ACTIVE).update(state=Rule.State.RETIRED)
        rule.state = Rule.State.ACTIVE
        rule.save(update_fields=["state"])
    operation_record(action="risk_rule_activate", actor=actor, object_type="risk_rule",
                     object_ref=f"{rule.key} v{rule.version}", reason=reason[:256])
    return rule


@transaction.atomic
def rule_create(*, key: str, kind: str, name: str, threshold: Decimal, severity: str, actor, reason: str,
                params: dict | None = None) -> Rule:
    _check(actor)
    if kind not in KINDS:
        raise ApplicationError(_("unknown rule kind"), errors={"kind": [_("unknown")]})
    if Rule.objects.filter(key=key).exists():
        raise ApplicationError(_("a rule with this key exists"), errors={"key": [_("taken")]})
    rule = Rule.objects.create(key=key, kind=kind, name=name, threshold=threshold, severity=severity,
                               params=params or {}, change_reason=reason[:256], created_by=actor)
    operation_record(action="risk_rule_version", actor=actor, object_type="risk_rule", object_ref=f"{key} v1",
                     reason=reason[:256])
    return rule


def rule_backtest(*, rule: Rule, actor, as_of: dt.date, limit: int = 50) -> dict:
    """Run a version over the stored history as of a date: how many hits and which, and how many
    of them the rule has already raised. Raises nothing (a read-only transaction, rolled back)."""
    _check(actor)
    with transaction.atomic():
        hits = rule_hits(rule=rule, as_of=as_of)
        transaction.set_rollback(True)
    known = set(Flag.objects.filter(rule_key=rule.key).values_list("subject_type", "subject_key", "fingerprint"))
    rows = [{"subject_type": h[0], "subject_key": h[1], "policy_ids": h[2], "fingerprint": h[3],
             "sentence_params": h[5], "already_flagged": (h[0], h[1], h[3]) in known} for h in hits]
    operation_record(action="risk_rule_backtest", actor=actor, object_type="risk_rule",
                     object_ref=f"{rule.key} v{rule.version}", details={"as_of": as_of.isoformat(), "hits": len(rows)})
    return {"count": len(rows), "new": sum(1 for r in rows if not r["already_flagged"]), "rows": rows[:limit],
            "as_of": as_of, "rule": rule}
