from django.apps import AppConfig


class CoreConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "core"

    def ready(self):
        from django.db.models.signals import post_migrate

        from core.grants import grants_after_migrate

        post_migrate.connect(grants_after_migrate, sender=self, dispatch_uid="core.grants")
