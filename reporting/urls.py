from django.urls import path

from reporting import views

app_name = "reporting"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("drill/", views.drill, name="drill"),
    path("restatements/", views.restatements, name="restatements"),
    path("persistency/", views.persistency, name="persistency"),
    path("metrics/", views.metrics, name="metrics"),
    path("subscriptions/", views.subscriptions, name="subscriptions"),
    path("targets/", views.targets, name="targets"),
    path("finance/", views.finance_dashboard, name="finance"),
    path("finance/reconciliation/", views.finance_reconciliation, name="finance_reconciliation"),
    path("risk/", views.risk_dashboard, name="risk"),
]
