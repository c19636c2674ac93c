from django.db import migrations

# The default plan of DESIGN.md section 3 (T = due date of the oldest unpaid installment,
# G = the end of its grace): (code, anchor, offset, action, extra)
STEPS = [
    ("T-60", "due", -60, "reminder", {}),
    ("T-30", "due", -30, "reminder", {}),
    ("T-15", "due", -15, "reminder", {}),
    ("T-7", "due", -7, "reminder", {}),
    ("T-0", "due", 0, "debit", {"payment_method": "auto_debit"}),
    ("T+3", "due", 3, "debit", {"payment_method": "auto_debit", "debit_failure_reasons": "insufficient_funds"}),
    ("T+10", "due", 10, "debit", {"payment_method": "auto_debit", "debit_failure_reasons": "insufficient_funds"}),
    ("T+20", "due", 20, "debit", {"payment_method": "auto_debit", "debit_failure_reasons": "insufficient_funds"}),
    ("DEBIT-FAIL", "daily", 0, "open_case", {
        "case_type": "failed_debit",
        "debit_failure_reasons": "account_frozen,account_closed,invalid_account,name_mismatch"}),
    ("T+1", "due", 1, "reminder", {}),
    ("T+1", "due", 1, "robot_call", {}),
    ("T+7", "due", 7, "robot_call", {}),
    ("T+15", "due", 15, "reminder", {}),
    ("T+15", "due", 15, "robot_call", {}),
    ("T+31", "due", 31, "open_case", {"case_type": "overdue_follow_up"}),
    ("T+45", "due", 45, "reminder", {"urgent": True, "escalation": 1}),
    ("G-5", "grace_end", -5, "reminder", {"urgent": True, "escalation": 2}),
    ("G+1", "grace_end", 1, "reminder", {"case_type": "lapse_notice"}),
]


def create(apps, schema_editor):
    Plan = apps.get_model("renewals", "CollectionPlan")
    Step = apps.get_model("renewals", "PlanStep")
    if Plan.objects.filter(is_default=True).exists():
        return
    plan = Plan.objects.create(name="默认催收计划", is_default=True)
    for code, anchor, offset, action, extra in STEPS:
        Step.objects.create(plan=plan, code=code, anchor=anchor, offset_days=offset, action=action, **extra)


class Migration(migrations.Migration):
    dependencies = [("renewals", "0004_collection_plans")]
    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
