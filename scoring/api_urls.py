from django.urls import path

import core.api  # noqa: F401  (registers the policy_no path converter)
from scoring.api import PolicyLapseRiskApi

urlpatterns: list = [
    path("policies/<policy_no:policy_no>/lapse-risk/", PolicyLapseRiskApi.as_view(), name="scoring-policy-lapse-risk"),
]
