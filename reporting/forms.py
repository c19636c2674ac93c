"""The branch target form (issue 15): errors from the form and from the service show beside the
field they concern."""

import datetime as dt

from django import forms
from django.utils.translation import gettext_lazy as _

from policies.models import Branch
from policies.selectors import branches_for
from reporting.metrics import METRICS
from reporting.models import KpiTarget


class TargetForm(forms.Form):
    metric = forms.ChoiceField(label=_("KPI"))
    branch = forms.ModelChoiceField(label=_("Branch"), queryset=Branch.objects.none())
    period = forms.ChoiceField(label=_("Period"), choices=KpiTarget.Period.choices)
    start = forms.CharField(label=_("Starting month"), max_length=16,
                            widget=forms.TextInput(attrs={"type": "month", "placeholder": "2026-12"}))
    target = forms.CharField(label=_("Target (%)"), max_length=12,
                             widget=forms.TextInput(attrs={"inputmode": "decimal", "placeholder": "95.00"}))

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["metric"].choices = [(m.code, m.name) for m in METRICS]
        self.fields["branch"].queryset = branches_for(user=user).order_by("path")
        for field in self.fields.values():
            css = "form-select form-select-sm" if isinstance(field.widget, forms.Select) else "form-control form-control-sm"
            field.widget.attrs.setdefault("class", css)

    def clean_start(self) -> dt.date:
        text = self.cleaned_data["start"].strip()
        try:
            if len(text) != 7:
                raise ValueError
            return dt.date.fromisoformat(f"{text}-01")
        except ValueError:
            raise forms.ValidationError(_("Enter a month as YYYY-MM.")) from None
