from django.urls import path

from scoring import views

app_name = "scoring"
urlpatterns = [
    path("models/", views.models, name="models"),
    path("models/<int:version>/", views.model_detail, name="model"),
    path("models/<int:version>/approve/", views.model_approve, name="model_approve"),
]
