from django.apps import AppConfig


class SimulationConfig(AppConfig):
    """The demo department: the product run over past business dates by simulated customers and
    the demo users. Rightmost in the import order: it may import every app, none imports it."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "simulation"
