from django.urls import path

import core.api  # noqa: F401  (registers the policy_no path converter)
from outreach.api import PolicyContactsApi

urlpatterns = [
    path("policies/<policy_no:policy_no>/contacts/", PolicyContactsApi.as_view(), name="api-policy-contacts"),
]
