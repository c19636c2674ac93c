from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "accounts"
    verbose_name = "用户与权限"

    def ready(self):
        from accounts.signals import sync_roles_after_migrate

        # After auth has created this app's permissions (it is earlier in INSTALLED_APPS).
        post_migrate.connect(sync_roles_after_migrate, sender=self)
