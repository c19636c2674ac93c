from django.urls import path

from billing import views, views_counter, views_notify

app_name = "billing"

urlpatterns = [
    path("imports/", views.imports, name="imports"),
    path("imports/<int:pk>/", views.import_detail, name="import_detail"),
    path("suspense/", views.suspense, name="suspense"),
    path("suspense/rematch/", views.suspense_rematch_page, name="suspense_rematch"),
    path("payments/<int:pk>/", views.payment_detail, name="payment"),
    path("payments/<int:pk>/<str:action>/", views.payment_action, name="payment_action"),
    path("matches/<int:pk>/<str:decision>/", views.assignment_decide, name="assignment_decide"),
    path("counter/", views_counter.counter_payments, name="counter_payments"),
    path("debits/", views.debits, name="debits"),
    path("debits/<int:pk>/sent/", views.debit_mark_exported_view, name="debit_mark_exported"),
    path("debits/<int:pk>/<str:kind>/", views.debit_export, name="debit_export"),
    path("reconciliation/", views.reconciliation, name="reconciliation"),
    path("rules/", views.rules, name="rules"),
    path("rules/<int:pk>/", views.rules, name="rule"),
    path("csv-templates/", views.csv_templates, name="csv_templates"),
    path("csv-templates/<int:pk>/", views.csv_templates, name="csv_template"),
    # the payment platforms' notifications (signed by the platform; no login)
    path("notify/alipay/", views_notify.notify_alipay, name="notify_alipay"),
    path("notify/wechatpay/", views_notify.notify_wechatpay, name="notify_wechatpay"),
]
