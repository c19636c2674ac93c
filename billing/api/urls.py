from django.urls import path

from billing.api import views

urlpatterns = [
    path("policies/<str:policy_no>/installments/", views.PolicyInstallmentsApi.as_view(),
         name="api-policy-installments"),
    path("webhooks/payments/", views.PaymentWebhookApi.as_view(), name="api-payment-webhook"),
]
