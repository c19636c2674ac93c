from django.urls import path

from outreach import views, views_identities, views_paylinks

app_name = "outreach"
urlpatterns = [
    path("callbacks/sms/", views.sms_receipts, name="sms_receipts"),
    path("callbacks/sms/replies/", views.sms_replies, name="sms_replies"),
    path("callbacks/voice/", views.voice_reports, name="voice_reports"),
    path("unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
]
urlpatterns += [
    path("templates/", views.templates_list, name="templates"),
    path("templates/<slug:channel>/<slug:kind>/", views.template_edit, name="template_edit"),
    path("templates/<slug:channel>/<slug:kind>/preview/", views.template_preview, name="template_preview"),
    path("templates/<slug:channel>/<slug:kind>/approval/", views.template_approval, name="template_approval"),
]
urlpatterns += [path("dev-inbox/", views.dev_inbox, name="dev_inbox")]
urlpatterns += [path("proofs/<str:policy_no>/export/", views.proofs_export, name="proofs_export")]
urlpatterns += [path("paylinks/<str:policy_no>/", views_paylinks.issue, name="paylink_issue")]
urlpatterns += [path("identities/<str:policy_no>/", views_identities.identities_update, name="identities_update")]
