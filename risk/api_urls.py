from django.urls import path

import core.api  # noqa: F401  (registers the policy_no path converter)
from risk.api import ClaimApi, FlagListApi

urlpatterns = [
    path("flags/", FlagListApi.as_view(), name="api-flags"),
    path("claims/", ClaimApi.as_view(), name="api-claims"),
]
