from django.urls import path

from renewals import views

app_name = "renewals"

urlpatterns = [
    path("operations/", views.operations, name="operations"),
    path("operations/<int:pk>/rerun/", views.operations_rerun, name="operations_rerun"),
    path("due/", views.due_lists, name="due_lists"),
]
