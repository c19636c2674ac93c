from django.urls import path

import core.api  # noqa: F401  (registers the policy_no path converter)
from policies.api import views

urlpatterns = [
    path("policies/", views.PolicyListApi.as_view(), name="api-policy-list"),
    path("consistency-report/", views.ConsistencyReportApi.as_view(), name="api-consistency-report"),
    path("policies/<policy_no:policy_no>/", views.PolicyDetailApi.as_view(), name="api-policy-detail"),
    path("policies/<policy_no:policy_no>/status/", views.PolicyStatusApi.as_view(), name="api-policy-status"),
]
