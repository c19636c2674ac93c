from django import forms
from django.utils.translation import gettext_lazy as _

from core.forms import DateInput

ACTIONS = [
    ("", _("All")),
    ("create", _("Create")),
    ("update", _("Update")),
    ("void", _("Void")),
    ("reveal", _("Reveal")),
    ("access_denied", _("Refused access")),
    ("operation", _("Bulk operation")),
]

MODELS = [
    ("", _("All")),
    ("policies.Policy", _("Policy")),
    ("policies.Customer", _("Customer")),
    ("policies.PolicyStatusChange", _("Status history")),
    ("policies.Branch", _("Branch")),
    ("policies.Product", _("Product")),
    ("policies.Agent", _("Agent")),
    ("audit.Operation", _("Bulk operation record")),
]


class TrailFilterForm(forms.Form):
    username = forms.CharField(label=_("User"), required=False)
    model = forms.ChoiceField(label=_("Object type"), choices=MODELS, required=False)
    object_id = forms.CharField(label=_("Object id"), required=False)
    action = forms.ChoiceField(label=_("Action"), choices=ACTIONS, required=False)
    date_from = forms.DateField(label=_("From"), required=False, widget=DateInput())
    date_to = forms.DateField(label=_("To"), required=False, widget=DateInput())

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            self.add_error("date_to", _("The end date cannot be before the start date."))
        return data
