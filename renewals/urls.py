from django.urls import path

from renewals import views

app_name = "renewals"

urlpatterns = [
    path("operations/", views.operations, name="operations"),
    path("operations/<int:pk>/rerun/", views.operations_rerun, name="operations_rerun"),
    path("due/", views.due_lists, name="due_lists"),
    path("reinstatement/<str:policy_no>/", views.reinstatement_apply_view, name="reinstatement_apply"),
    path("underwriting/", views.underwriting_queue, name="underwriting"),
    path("approvals/", views.approvals, name="approvals"),
    path("holds/<str:policy_no>/", views.hold_request_view, name="hold_request"),
    path("servicing/<str:policy_no>/", views.servicing_apply_view, name="servicing_apply"),
    path("plan/<str:policy_no>/", views.policy_plan_view, name="policy_plan"),
    path("profile/<str:policy_no>/", views.policy_collection_profile_view, name="policy_collection_profile"),
    path("suspensions/<str:kind>/<int:pk>/", views.suspension_decide_view, name="suspension_decide"),
]
