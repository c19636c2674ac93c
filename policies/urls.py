from django.urls import path

from policies import views

app_name = "policies"

urlpatterns = [
    path("", views.search, name="search"),
    path("import/", views.import_upload, name="import"),
    path("consistency/", views.consistency, name="consistency"),
    path("<str:policy_no>/", views.detail, name="detail"),
    path("<str:policy_no>/reveal/<str:field>/", views.reveal, name="reveal"),
]
