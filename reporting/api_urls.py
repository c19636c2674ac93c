from django.urls import path

from reporting.api import KpiApi

urlpatterns = [
    path("kpis/", KpiApi.as_view(), name="api-kpis"),
]
