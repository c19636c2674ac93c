from django.db.models import Q, QuerySet

from policies.selectors import branch_scope_q
from renewals.models import Moratorium


def moratorium_list(*, user) -> QuerySet[Moratorium]:
    """The moratoria that reach the user's policies: those of their branches (a branch covers its
    descendants) and the ones by place or product that name no branch (they may cover any)."""
    qs = Moratorium.objects.select_related("branch", "product", "requested_by", "approved_by").order_by("-start", "-pk")
    scope = branch_scope_q(user)
    if scope is None:
        return qs
    return qs.filter(scope | Q(branch__isnull=True))
