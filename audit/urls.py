from django.urls import path

from audit import views

app_name = "audit"

urlpatterns = [
    path("", views.trail, name="trail"),
    path("export.csv", views.trail_export, name="export"),
    path("export.xlsx", views.trail_export_xlsx, name="export_xlsx"),
]
