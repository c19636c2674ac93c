from django.urls import path

import core.api  # noqa: F401  (registers the policy_no path converter)
from renewals.api import ReinstatementQuoteApi

urlpatterns = [
    path("policies/<policy_no:policy_no>/reinstatement-quote/", ReinstatementQuoteApi.as_view(),
         name="api-reinstatement-quote"),
]
