from django.urls import path

from outreach import views

app_name = "outreach"
urlpatterns = [
    path("callbacks/sms/", views.sms_receipts, name="sms_receipts"),
    path("callbacks/sms/replies/", views.sms_replies, name="sms_replies"),
    path("unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
]
urlpatterns += [
    path("templates/", views.templates_list, name="templates"),
    path("templates/<slug:channel>/<slug:kind>/", views.template_edit, name="template_edit"),
    path("templates/<slug:channel>/<slug:kind>/preview/", views.template_preview, name="template_preview"),
    path("templates/<slug:channel>/<slug:kind>/approval/", views.template_approval, name="template_approval"),
]
urlpatterns += [path("dev-inbox/", views.dev_inbox, name="dev_inbox")]
