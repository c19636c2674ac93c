import datetime as dt

from django.db import transaction
from django.utils.translation import gettext as _

from audit.services import audit_context
from core.errors import ApplicationError
from policies.models import Branch, Policy, Product
from policies.services.imports import policy_rows_upsert
from policies.services.rows import policy_row_clean
from policies.validation import FieldError


def policy_upsert(*, data: dict, as_of: dt.date, actor, allowed_branch_codes: set[str] | None = None) -> tuple[Policy, bool]:
    """One policies.csv record from the API: the same rules and the same SQL as the file import.
    Returns (policy, created)."""
    try:
        clean = policy_row_clean(
            data, as_of=as_of,
            product_codes=set(Product.objects.values_list("code", flat=True)),
            branch_codes=set(Branch.objects.values_list("code", flat=True)),
        )
    except FieldError as exc:
        raise ApplicationError(exc.reason, errors={exc.column: [exc.reason]}) from None
    if allowed_branch_codes is not None and clean.values["branch_code"] not in allowed_branch_codes:
        raise ApplicationError(_("outside your branches"), errors={"branch_code": [_("outside your branches")]})
    context = {"job": "api:policy_upsert", "as_of": as_of.isoformat()}
    if actor is not None and actor.is_authenticated:
        context.update(user=actor.pk, username=actor.get_username())
    with transaction.atomic(), audit_context(**context):
        counts = policy_rows_upsert(rows=[dict(clean.values, line=1)], as_of=as_of, source="api")
    return Policy.objects.get(policy_no=clean.values["policy_no"]), counts["created"] == 1
