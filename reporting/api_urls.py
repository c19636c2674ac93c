from django.urls import path

from reporting.api import KpiApi, KpiTargetApi

urlpatterns = [
    path("kpis/", KpiApi.as_view(), name="api-kpis"),
    path("kpis/targets/", KpiTargetApi.as_view(), name="api-kpi-targets"),
]
