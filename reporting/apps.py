from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

KPI_TABLES = ("reporting_policyslice", "reporting_dailyfact", "reporting_monthlyfact", "reporting_debitfact",
              "reporting_persistencyfact", "reporting_slicedayfact", "reporting_slicemonthfact",
              "reporting_slicedebitfact", "reporting_slicepersistencyfact")


class ReportingConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "reporting"

    def ready(self):
        from core.navigation import nav_register
        from renewals.services.steps import step_register
        from reporting.homes import homes_register
        from reporting.services.alerts import kpi_alerts
        from reporting.services.snapshot import kpi_snapshot
        from reporting.services.subscriptions import kpi_reports
        from reporting.services.warm import kpi_warm

        # the facts after everything else of the night (lapses, debits, due lists) has been written
        # the first snapshot writes a row per policy and its history's facts: analysed after it
        step_register("kpi_snapshot", kpi_snapshot, chunked=True, after=None, label=_("Record the day's KPI facts"),
                      analyze=KPI_TABLES)
        step_register("kpi_alerts", kpi_alerts, chunked=False, after="kpi_snapshot", label=_("Alert on KPI drops"))
        step_register("kpi_reports", kpi_reports, chunked=False, after="kpi_alerts",
                      label=_("Send the scheduled reports"))
        step_register("kpi_warm", kpi_warm, chunked=False, after="kpi_reports",
                      label=_("Prepare the morning's dashboards"))
        homes_register()
        nav_register(order=60, label=_("Dashboard"), url_name="reporting:dashboard", capability="view_reports")
        # the pages check the role again (reporting.selectors_roles.DASHBOARD_ROLES)
        nav_register(order=37, label=_("Finance dashboard"), url_name="reporting:finance", capability="match_payments")
        nav_register(order=53, label=_("Risk dashboard"), url_name="reporting:risk", capability="work_risk_flags")
        nav_register(order=61, label=_("Branch targets"), url_name="reporting:targets", capability="view_reports")
