from django.contrib import admin

from outreach.models import ContactLog, ContactWindow, MessageTemplate, PlannedContact


@admin.register(PlannedContact)
class PlannedContactAdmin(admin.ModelAdmin):
    list_display = ("policy", "stage_code", "kind", "channel", "planned_at", "status", "reason", "urgent")
    list_filter = ("kind", "channel", "status", "reason")
    raw_id_fields = ("policy", "installment", "template_version")
    readonly_fields = ("step_id", "stage_code", "status", "reason", "sent_at", "delivered_at", "provider_ref",
                       "attempts", "error", "template_version", "address")

    def has_add_permission(self, request):
        return False  # planned by the nightly pipeline, changed by outreach's services


@admin.register(ContactWindow)
class ContactWindowAdmin(admin.ModelAdmin):
    list_display = ("customer", "time_zone", "start", "end")
    raw_id_fields = ("customer",)


@admin.register(MessageTemplate)
class MessageTemplateAdmin(admin.ModelAdmin):
    list_display = ("channel", "kind", "language", "version", "active", "provider_template_code", "sign_name")
    list_filter = ("channel", "kind", "language", "active")


@admin.register(ContactLog)
class ContactLogAdmin(admin.ModelAdmin):
    list_display = ("customer", "policy", "channel", "outcome", "actor", "occurred_at")
    list_filter = ("channel", "outcome")
    raw_id_fields = ("customer", "policy")
