from django.urls import path

from outreach import views

app_name = "outreach"
urlpatterns = [
    path("callbacks/sms/", views.sms_receipts, name="sms_receipts"),
]
