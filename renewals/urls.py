from django.urls import path

from renewals import views, views_cases, views_operations, views_plans

app_name = "renewals"

urlpatterns = [
    path("operations/", views.operations, name="operations"),
    path("operations/<int:pk>/rerun/", views.operations_rerun, name="operations_rerun"),
    path("operations/catch-up/", views_operations.operations_catch_up, name="operations_catch_up"),
    path("operations/progress/", views_operations.operations_progress, name="operations_progress"),
    path("moratoria/", views_operations.moratoria, name="moratoria"),
    path("plans/", views_plans.plans_readonly, name="plans"),
    path("due/", views.due_lists, name="due_lists"),
    path("reinstatement/<str:policy_no>/", views.reinstatement_apply_view, name="reinstatement_apply"),
    path("underwriting/", views.underwriting_queue, name="underwriting"),
    path("approvals/", views.approvals, name="approvals"),
    path("holds/<str:policy_no>/", views.hold_request_view, name="hold_request"),
    path("servicing/<str:policy_no>/", views.servicing_apply_view, name="servicing_apply"),
    path("plan/<str:policy_no>/", views.policy_plan_view, name="policy_plan"),
    path("profile/<str:policy_no>/", views.policy_collection_profile_view, name="policy_collection_profile"),
    path("suspensions/<str:kind>/<int:pk>/", views.suspension_decide_view, name="suspension_decide"),
    # the workbench
    path("cases/", views_cases.queue, name="cases"),
    path("cases/next/", views_cases.claim_next, name="case_claim_next"),
    path("cases/counts/", views_cases.queue_counts, name="case_queue_counts"),
    path("cases/assign/", views_cases.cases_bulk_assign_view, name="cases_bulk_assign"),
    path("cases/away/", views_cases.clerk_away_view, name="clerk_away"),
    path("cases/rebalance/", views_cases.cases_rebalance_view, name="cases_rebalance"),
    path("cases/feedback/", views_cases.feedback_report_view, name="feedback_report"),
    path("cases/scripts/", views_cases.call_scripts, name="call_scripts"),
    path("cases/<int:pk>/", views_cases.case_detail, name="case"),
    path("cases/<int:pk>/claim/", views_cases.case_claim_view, name="case_claim"),
    path("cases/<int:pk>/release/", views_cases.case_release_view, name="case_release"),
    path("cases/<int:pk>/contact/", views_cases.case_contact, name="case_contact"),
    path("cases/<int:pk>/handoff/", views_cases.case_handoff_view, name="case_handoff"),
    path("cases/<int:pk>/answer/", views_cases.case_answer_view, name="case_answer"),
    path("cases/<int:pk>/note/", views_cases.case_note_view, name="case_note"),
    path("cases/<int:pk>/feedback/", views_cases.case_feedback_view, name="case_feedback"),
    path("cases/<int:pk>/assign/", views_cases.case_assign_view, name="case_assign"),
]
