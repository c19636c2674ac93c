from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

urlpatterns = [
    path("", include("core.urls")),
    path("accounts/", include("accounts.urls")),
    path("policies/", include("policies.urls")),
    path("audit/", include("audit.urls")),
    path("billing/", include("billing.urls")),
    path("renewals/", include("renewals.urls")),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="api-redoc"),
    path("api/v1/", include("policies.api.urls")),
    path("api/v1/", include("billing.api.urls")),
    path("api/v1/", include("renewals.api_urls")),
]

handler403 = "core.errors_views.forbidden"
handler404 = "core.errors_views.not_found"
handler500 = "core.errors_views.server_error"
