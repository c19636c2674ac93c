from django.contrib import admin

from renewals.models import (
    Application,
    CalendarDay,
    CalendarYear,
    CallScript,
    Case,
    CollectionPlan,
    Hold,
    Moratorium,
    NightlyRun,
    PlanStep,
    WorkTeam,
)


class PlanStepInline(admin.TabularInline):
    model = PlanStep
    extra = 0
    # steps are switched off, never deleted: outreach's contacts keep the step's id as a plain value
    can_delete = False
    fields = ("code", "anchor", "offset_days", "action", "channel", "case_type", "urgent", "escalation",
              "payment_method", "debit_failure_reasons", "segments", "overdue_reasons", "min_unpaid_count", "min_amount",
              "min_lapse_risk", "active")


@admin.register(CollectionPlan)
class CollectionPlanAdmin(admin.ModelAdmin):
    list_display = ("name", "is_default", "active")
    filter_horizontal = ("products",)
    inlines = [PlanStepInline]

    def has_delete_permission(self, request, obj=None):
        return False  # a plan is switched off (active), so its steps' ids stay meaningful


@admin.register(PlanStep)
class PlanStepAdmin(admin.ModelAdmin):
    list_display = ("plan", "code", "anchor", "offset_days", "action", "channel", "active")
    list_filter = ("plan", "action", "active")

    def has_delete_permission(self, request, obj=None):
        return False  # switched off (active), never deleted


@admin.register(Case)
class CaseAdmin(admin.ModelAdmin):
    """Read-only: cases are worked on the workbench (renewals.services.cases), never edited here."""

    list_display = ("policy", "type", "status", "priority", "deadline", "assignee", "opened_on")
    list_filter = ("type", "status")
    raw_id_fields = ("policy",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(WorkTeam)
class WorkTeamAdmin(admin.ModelAdmin):
    list_display = ("team", "kind", "work_start", "work_end")
    list_filter = ("kind",)
    filter_horizontal = ("branches",)


@admin.register(CalendarDay)
class CalendarDayAdmin(admin.ModelAdmin):
    """Later years' holidays and adjusted working days, entered by an administrator (and the year
    itself in Calendar years, so deadlines stop counting plain weekdays)."""

    list_display = ("day", "kind", "name")
    list_filter = ("kind",)
    date_hierarchy = "day"


@admin.register(CalendarYear)
class CalendarYearAdmin(admin.ModelAdmin):
    list_display = ("year", "source")


@admin.register(CallScript)
class CallScriptAdmin(admin.ModelAdmin):
    list_display = ("audience", "language", "updated_at")
    readonly_fields = ("updated_by",)

    def save_model(self, request, obj, form, change):
        obj.updated_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(Application)
class ApplicationAdmin(admin.ModelAdmin):
    list_display = ("policy", "kind", "status", "applied_on", "created_by", "approved_by")
    list_filter = ("kind", "status")
    raw_id_fields = ("policy",)


@admin.register(NightlyRun)
class NightlyRunAdmin(admin.ModelAdmin):
    list_display = ("as_of", "status", "started_at", "finished_at")


@admin.register(Hold)
class HoldAdmin(admin.ModelAdmin):
    list_display = ("policy", "start", "end", "status", "requested_by", "approved_by")
    list_filter = ("status",)
    raw_id_fields = ("policy",)
    readonly_fields = ("status", "requested_by", "approved_by")

    def has_add_permission(self, request):
        return False  # asked and approved on the policy page and the approvals page (maker-checker)


@admin.register(Moratorium)
class MoratoriumAdmin(admin.ModelAdmin):
    list_display = ("name", "start", "end", "branch", "province", "city", "product", "status")
    list_filter = ("status",)
    readonly_fields = ("status", "requested_by", "approved_by")

    def has_add_permission(self, request):
        return False  # asked and approved through the services (maker-checker)
