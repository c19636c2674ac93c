from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from core.alerts import alert_acknowledge
from core.models import Alert


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = ["last_raised_at", "severity", "kind", "key", "title", "occurrences", "acknowledged_at",
                    "acknowledged_by"]
    list_filter = ["severity", "kind", ("acknowledged_at", admin.EmptyFieldListFilter)]
    search_fields = ["kind", "key", "title"]
    readonly_fields = [f.name for f in Alert._meta.fields]
    actions = ["acknowledge"]

    def has_add_permission(self, request) -> bool:
        return False  # alerts are raised by the application (core.alerts.alert_raise)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # kept as the record of what happened

    @admin.action(description=_("Acknowledge the selected alerts"))
    def acknowledge(self, request, queryset) -> None:
        alerts = list(queryset.filter(acknowledged_at__isnull=True))
        for alert in alerts:
            alert_acknowledge(alert=alert, user=request.user)
        self.message_user(request, _("%(count)d alerts acknowledged.") % {"count": len(alerts)}, messages.SUCCESS)
