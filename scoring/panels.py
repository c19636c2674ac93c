from accounts.roles import perm
from scoring.explain import explanations_render
from scoring.selectors import policy_score_get


def lapse_risk_panel(request, policy):
    """The policy page's lapse risk: the score and its three explanations (the page has checked the
    policy's scope). Hidden for those who do not see the portfolio."""
    if not request.user.has_perm(perm("view_portfolio")):
        return None
    score = policy_score_get(policy_id=policy.pk)
    if score is None:
        return {"score": None}
    return {"score": score, "percent": round(float(score.score) * 100, 1),
            "band": "high" if score.score >= 0.3 else "medium" if score.score >= 0.1 else "low",
            "explanations": explanations_render(score.explanations)}
