from typing import Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _

from audit.presentation import ACTIONS, trail_object_types
from core.forms import DateInput


class TrailFilterForm(forms.Form):
    date_from = forms.DateField(label=_("From"), required=False, widget=DateInput())
    date_to = forms.DateField(label=_("To"), required=False, widget=DateInput())
    username = forms.CharField(label=_("User"), required=False,
                               widget=forms.TextInput(attrs={"placeholder": _("Sign-in name")}))
    action = forms.ChoiceField(label=_("Action"), required=False)
    model = forms.ChoiceField(label=_("Object type"), required=False)
    policy_no = forms.CharField(label=_("Policy number"), required=False, max_length=32)
    business_date = forms.DateField(label=_("Business date"), required=False, widget=DateInput(),
                                    help_text=_("The date a night or an import worked for."))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        everything: list[tuple[str, Any]] = [("", _("All"))]
        cast(forms.ChoiceField, self.fields["action"]).choices = everything + list(ACTIONS.items())
        cast(forms.ChoiceField, self.fields["model"]).choices = everything + trail_object_types()

    def clean_username(self) -> str:
        return self.cleaned_data["username"].strip()

    def clean_policy_no(self) -> str:
        return self.cleaned_data["policy_no"].strip()

    def clean(self):
        data = super().clean() or {}
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            self.add_error("date_to", _("The end date cannot be before the start date."))
        return data
