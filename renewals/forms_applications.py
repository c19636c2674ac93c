from django import forms
from django.utils.translation import gettext_lazy as _

from core.dates import business_today

QUESTION_LABELS = {
    "hospitalised": _("Hospitalised since the lapse?"),
    "diagnosed": _("Diagnosed with a new illness?"),
    "under_treatment": _("Under treatment now?"),
    "medication": _("Taking prescribed medication?"),
    "disability": _("Any disability or loss of working ability?"),
}


class ReinstatementForm(forms.Form):
    applied_on = forms.DateField(label=_("Application date"), initial=business_today,
                                 widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, label in QUESTION_LABELS.items():
            self.fields[name] = forms.TypedChoiceField(
                label=label, choices=[("no", _("No")), ("yes", _("Yes"))], coerce=lambda v: v == "yes",
                widget=forms.RadioSelect, initial="no")

    def declaration(self) -> dict:
        return {name: self.cleaned_data[name] for name in QUESTION_LABELS}


class DecisionForm(forms.Form):
    note = forms.CharField(label=_("Note"), max_length=500, required=False,
                           widget=forms.Textarea(attrs={"rows": 2}))


class HoldForm(forms.Form):
    start = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("To"), widget=forms.DateInput(attrs={"type": "date"}))
    reason = forms.CharField(label=_("Reason"), max_length=256)

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end") and data["end"] < data["start"]:
            self.add_error("end", _("The end date cannot be before the start date."))
        return data
