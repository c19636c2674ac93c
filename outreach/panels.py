from accounts.roles import perm
from outreach.selectors import policy_consent_changes, policy_contacts


def contacts_panel(request, policy):
    """The policy page's timeline of reminders (the page has checked the policy's scope)."""
    if not request.user.has_perm(perm("view_portfolio")):
        return None
    from outreach.services.proofs import policy_proofs

    return {"contacts": policy_contacts(policy=policy), "consent": policy_consent_changes(policy=policy),
            "proofs": policy_proofs(policy=policy)}


def identities_panel(request, policy):
    """The policyholder's WeChat and app push identities, masked; an edit form for those who may
    change contact details (the page has checked the policy's scope; the service checks again)."""
    if not request.user.has_perm(perm("view_portfolio")):
        return None
    from outreach.forms import ChannelIdentitiesForm
    from outreach.selectors import customer_identities_masked

    may_edit = request.user.has_perm(perm("work_cases"))
    return {"policy_no": policy.policy_no, "identities": customer_identities_masked(customer_id=policy.holder_id),
            "may_edit": may_edit, "blank_form": ChannelIdentitiesForm() if may_edit else None}
