from django.urls import path

from risk import views

app_name = "risk"
urlpatterns = [
    path("", views.queue, name="queue"),
    path("claim-next/", views.claim_next, name="claim_next"),
    path("flags/<int:pk>/", views.flag_detail, name="flag"),
    path("flags/<int:pk>/<str:action>/", views.flag_action, name="flag_action"),
    path("customers/<int:pk>/pack/", views.customer_pack_download, name="customer_pack"),
    path("rules/", views.rules, name="rules"),
    path("rules/<int:pk>/", views.rule_detail, name="rule"),
    path("compliance/", views.compliance, name="compliance"),
    path("claims/", views.claims, name="claims"),
]
