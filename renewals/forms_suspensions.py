from typing import cast

from django import forms
from django.utils.translation import gettext_lazy as _

from core.errors import ApplicationError
from core.forms import DateInput
from policies.models import Branch, Product
from policies.selectors import branches_for


class BranchChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return f"{obj.name} {obj.code}"


class MoratoriumForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=128,
                           help_text=_("What it is for, as people will see it, e.g. 2026 typhoon relief, Zhanjiang."))
    start = forms.DateField(label=_("From"), widget=DateInput())
    end = forms.DateField(label=_("To"), widget=DateInput())
    branch = BranchChoiceField(label=_("Branch (and below)"), queryset=Branch.objects.none(), required=False,
                               empty_label=_("— any branch —"))
    province = forms.CharField(label=_("Province"), max_length=32, required=False)
    city = forms.CharField(label=_("City"), max_length=32, required=False)
    product = forms.ModelChoiceField(label=_("Product"), queryset=Product.objects.order_by("code"), required=False,
                                     empty_label=_("— any product —"))
    reason = forms.CharField(label=_("Reason"), max_length=256,
                             help_text=_("The approver reads it; it is kept in the trail."),
                             widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        cast(BranchChoiceField, self.fields["branch"]).queryset = branches_for(user=user).order_by("path")

    def clean(self):
        data = super().clean() or {}
        if data.get("start") and data.get("end") and data["end"] < data["start"]:
            self.add_error("end", _("The end date cannot be before the start date."))
        return data

    def add_service_errors(self, exc: ApplicationError) -> None:
        """The service's refusal beside the field it names, or above the form."""
        placed = False
        for field, reasons in exc.errors.items():
            if field in self.fields:
                for reason in reasons:
                    self.add_error(field, reason)
                placed = True
        if not placed:
            self.add_error(None, exc.message)
