from django.urls import path

import core.api  # noqa: F401  (registers the policy_no path converter)
from billing.api import views

urlpatterns = [
    path("policies/<policy_no:policy_no>/installments/", views.PolicyInstallmentsApi.as_view(),
         name="api-policy-installments"),
    path("policies/<policy_no:policy_no>/allocations/", views.PolicyAllocationsApi.as_view(),
         name="api-policy-allocations"),
    path("payments/", views.PaymentListApi.as_view(), name="api-payment-list"),
    path("imports/", views.StatementImportListApi.as_view(), name="api-import-list"),
    path("imports/<int:pk>/", views.StatementImportDetailApi.as_view(), name="api-import-detail"),
    path("webhooks/payments/", views.PaymentWebhookApi.as_view(), name="api-payment-webhook"),
]
