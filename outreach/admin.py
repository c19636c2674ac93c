from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from outreach.models import (
    CallResult,
    ChannelBudget,
    ChannelIdentity,
    ContactLog,
    ContactWindow,
    DeliveryProof,
    MessageTemplate,
    PlannedContact,
)


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


@admin.action(description=_("Re-send what was not delivered of the selected contacts' batches"))
def resend_failed_batches(modeladmin, request, queryset):
    from django.contrib import messages
    from django.utils import timezone

    from core.errors import ApplicationError
    from outreach.services.resend import batch_resend

    keys = sorted(set(queryset.filter(status=PlannedContact.Status.FAILED).exclude(idempotency_key="")
                      .values_list("idempotency_key", flat=True)))
    total = 0
    for key in keys:
        try:
            total += batch_resend(batch_key=key, actor=request.user, now=timezone.now())
        except ApplicationError as exc:
            modeladmin.message_user(request, str(exc), level=messages.WARNING)
    modeladmin.message_user(request, _("%(n)d contacts planned again.") % {"n": total})


PlannedContactAdmin.actions = [resend_failed_batches]
PlannedContactAdmin.list_filter = ("kind", "channel", "status", "reason")
PlannedContactAdmin.search_fields = ("idempotency_key", "provider_ref")


@admin.register(CallResult)
class CallResultAdmin(admin.ModelAdmin):
    list_display = ("policy", "outcome", "promised_on", "duration_seconds", "provider_id", "occurred_at")
    list_filter = ("outcome",)
    raw_id_fields = ("policy", "customer", "contact")

    def has_add_permission(self, request):
        return False  # the provider's reports write them

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(ChannelBudget)
class ChannelBudgetAdmin(admin.ModelAdmin):
    list_display = ("channel", "cost_per_message", "monthly_budget", "warn_percent")


@admin.register(ChannelIdentity)
class ChannelIdentityAdmin(admin.ModelAdmin):
    list_display = ("customer", "channel")
    raw_id_fields = ("customer",)


@admin.register(DeliveryProof)
class DeliveryProofAdmin(admin.ModelAdmin):
    list_display = ("policy", "notice", "channel", "address", "sent_at", "delivered_at", "provider_id")
    list_filter = ("notice", "channel")
    raw_id_fields = ("policy", "contact")

    def has_add_permission(self, request):
        return False  # evidence: written by the dispatcher and the receipts only

    def has_change_permission(self, request, obj=None):
        return False
