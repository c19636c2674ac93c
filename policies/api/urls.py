from django.urls import path

from policies.api import views

urlpatterns = [
    path("policies/", views.PolicyListApi.as_view(), name="api-policy-list"),
    path("policies/<str:policy_no>/", views.PolicyDetailApi.as_view(), name="api-policy-detail"),
    path("policies/<str:policy_no>/status/", views.PolicyStatusApi.as_view(), name="api-policy-status"),
]
