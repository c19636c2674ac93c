from django.urls import path

from audit import views

app_name = "audit"

urlpatterns = [
    path("", views.trail, name="trail"),
    path("export.csv", views.trail_export, name="export"),
]
