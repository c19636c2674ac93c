from accounts.roles import perm
from outreach.selectors import policy_consent_changes, policy_contacts


def contacts_panel(request, policy):
    """The policy page's timeline of reminders (the page has checked the policy's scope)."""
    if not request.user.has_perm(perm("view_portfolio")):
        return None
    from outreach.services.proofs import policy_proofs

    return {"contacts": policy_contacts(policy=policy), "consent": policy_consent_changes(policy=policy),
            "proofs": policy_proofs(policy=policy)}
