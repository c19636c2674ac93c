from accounts.roles import perm
from billing.selectors import policy_money_summary


def money_panel(request, policy):
    if not request.user.has_perm(perm("view_portfolio")):
        return None
    return policy_money_summary(policy=policy)
