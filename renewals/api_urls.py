from django.urls import path

from renewals.api import ReinstatementQuoteApi

urlpatterns = [
    path("policies/<str:policy_no>/reinstatement-quote/", ReinstatementQuoteApi.as_view(),
         name="api-reinstatement-quote"),
]
