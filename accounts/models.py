from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.roles import CAPABILITIES


class User(AbstractUser):
    class Language(models.TextChoices):
        ZH_HANS = "zh-hans", "简体中文"
        EN = "en", "English"

    display_name = models.CharField(_("Name"), max_length=64, blank=True)
    language = models.CharField(_("Interface language"), max_length=8, choices=Language.choices, default=Language.ZH_HANS)
    is_service_user = models.BooleanField(_("Service user"), default=False)

    def __str__(self) -> str:
        return self.display_name or self.username


class Team(models.Model):
    name = models.CharField(_("Name"), max_length=64, unique=True)
    lead = models.ForeignKey(
        User, verbose_name=_("Team lead"), null=True, blank=True, on_delete=models.SET_NULL, related_name="led_teams"
    )
    members = models.ManyToManyField(User, verbose_name=_("Members"), related_name="teams", blank=True)

    class Meta:
        verbose_name = _("Team")
        verbose_name_plural = _("Team")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Capability(models.Model):
    """Holds the capability permissions of the role matrix; no table of its own."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = list(CAPABILITIES.items())
