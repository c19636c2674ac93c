from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from core.api import api_not_found, docs_view

urlpatterns = [
    path("", include("core.urls")),
    path("accounts/", include("accounts.urls")),
    path("policies/", include("policies.urls")),
    path("audit/", include("audit.urls")),
    path("billing/", include("billing.urls")),
    path("renewals/", include("renewals.urls")),
    path("outreach/", include("outreach.urls")),
    path("p/", include("outreach.urls_paylinks")),  # payment links: short, read out on calls
    path("risk/", include("risk.urls")),
    path("scoring/", include("scoring.urls")),
    path("reporting/", include("reporting.urls")),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", docs_view(SpectacularSwaggerView, url_name="schema"), name="api-docs"),
    path("api/redoc/", docs_view(SpectacularRedocView, url_name="schema"), name="api-redoc"),
    path("api/v1/", include("policies.api.urls")),
    path("api/v1/", include("billing.api.urls")),
    path("api/v1/", include("renewals.api_urls")),
    path("api/v1/", include("outreach.api_urls")),
    path("api/v1/", include("risk.api_urls")),
    path("api/v1/", include("scoring.api_urls")),
    path("api/v1/", include("reporting.api_urls")),
    # last of the API: any other address under /api/ is the API's JSON 404, not the HTML page
    re_path(r"^api(?:/|$)", api_not_found),
]

handler403 = "core.errors_views.forbidden"
handler404 = "core.errors_views.not_found"
handler500 = "core.errors_views.server_error"
