from django.contrib import admin

from billing.models import MatchingRule


@admin.register(MatchingRule)
class MatchingRuleAdmin(admin.ModelAdmin):
    list_display = ("position", "name", "kind", "pattern", "amount_tolerance", "window_days", "accepts_partial",
                    "action", "active")
    list_display_links = ("name",)
    list_editable = ("position", "active", "action")
    ordering = ("position", "id")
