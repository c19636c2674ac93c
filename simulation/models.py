from django.db import models
from django.utils.translation import gettext_lazy as _


class DemoBuild(models.Model):
    """One demo build: its parameters and how far it got. A build is complete when every day of its
    span is done; an interrupted one continues at the day after its last done day."""

    class Status(models.TextChoices):
        BUILDING = "building", _("Building")
        COMPLETE = "complete", _("Complete")

    seed = models.IntegerField()
    policies = models.PositiveIntegerField()
    start = models.DateField(_("First business date"))
    end = models.DateField(_("Last business date"))
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.BUILDING)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    seconds = models.FloatField(default=0)  # time spent building, summed over interrupted runs

    class Meta:
        verbose_name = _("Demo build")
        verbose_name_plural = _("Demo builds")

    def __str__(self) -> str:
        return f"demo {self.policies} policies, seed {self.seed}, {self.start}..{self.end} ({self.status})"


class DemoDay(models.Model):
    """A business date of a build whose work (files imported, actors' decisions) has committed."""

    build = models.ForeignKey(DemoBuild, on_delete=models.CASCADE, related_name="days")
    day = models.DateField()
    working_day = models.BooleanField(default=True)
    counts = models.JSONField(default=dict)  # lines imported, debit results, decisions: for the README's story
    done_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["build", "day"], name="demo_day_once")]

    def __str__(self) -> str:
        return f"{self.build_id} {self.day}"
