from django.urls import path

import core.api  # noqa: F401  (registers the policy_no path converter)
from renewals.api import ReinstatementQuoteApi
from renewals.api_cases import CaseClaimNextApi, CaseDetailApi, CaseListApi, CaseOutcomeApi, CaseReleaseApi

urlpatterns = [
    path("policies/<policy_no:policy_no>/reinstatement-quote/", ReinstatementQuoteApi.as_view(),
         name="api-reinstatement-quote"),
    path("cases/", CaseListApi.as_view(), name="api-cases"),
    path("cases/claim-next/", CaseClaimNextApi.as_view(), name="api-case-claim-next"),
    path("cases/<int:pk>/", CaseDetailApi.as_view(), name="api-case-detail"),
    path("cases/<int:pk>/release/", CaseReleaseApi.as_view(), name="api-case-release"),
    path("cases/<int:pk>/outcome/", CaseOutcomeApi.as_view(), name="api-case-outcome"),
]
