"""The payment link's public addresses, short enough to read out: /p/<code>/ (config.urls)."""

from django.urls import path

from outreach import views_paylinks

app_name = "paylinks"
urlpatterns = [
    path("<str:code>/", views_paylinks.page, name="page"),
    path("<str:code>/done/", views_paylinks.done, name="done"),
    path("<str:code>/<slug:platform>/", views_paylinks.pay, name="pay"),
]
