from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from core.dates import business_today
from core.forms import DateInput

QUESTION_LABELS = {
    "hospitalised": _("Hospitalised since the lapse?"),
    "diagnosed": _("Diagnosed with a new illness?"),
    "under_treatment": _("Under treatment now?"),
    "medication": _("Taking prescribed medication?"),
    "disability": _("Any disability or loss of working ability?"),
}


class ReinstatementForm(forms.Form):
    applied_on = forms.DateField(label=_("Application date"), initial=business_today,
                                 widget=DateInput())

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
    start = forms.DateField(label=_("From"), widget=DateInput())
    end = forms.DateField(label=_("To"), widget=DateInput())
    reason = forms.CharField(label=_("Reason"), max_length=256)

    def clean(self):
        data = super().clean() or {}
        if data.get("start") and data.get("end") and data["end"] < data["start"]:
            self.add_error("end", _("The end date cannot be before the start date."))
        return data


class ServicingForm(forms.Form):
    """Deferral, reduced paid-up or payment plan change: the fields of the chosen kind are used."""

    kind = forms.ChoiceField(label=_("Application"), choices=[
        ("deferral", _("Premium deferral")), ("reduced_paid_up", _("Reduced paid-up")),
        ("plan_change", _("Payment plan change"))])
    effective_date = forms.DateField(label=_("Effective from"), widget=DateInput(),
                                     help_text=_("A plan change takes effect on a due date."))
    end = forms.DateField(label=_("Deferral ends"), required=False, widget=DateInput(),
                          help_text=_("At most 2 years after the start."))
    sum_assured = forms.DecimalField(label=_("Reduced sum assured"), required=False, max_digits=14, decimal_places=2)
    payment_method = forms.ChoiceField(label=_("New payment method"), required=False, choices=[
        ("", "—"), ("auto_debit", _("Auto-debit")), ("bank_transfer", _("Bank transfer")),
        ("online", _("Online payment")), ("counter", _("Counter"))])
    frequency = forms.ChoiceField(label=_("New payment frequency"), required=False, choices=[
        ("", "—"), ("annual", _("Annual")), ("semiannual", _("Semiannual")), ("quarterly", _("Quarterly")),
        ("monthly", _("Monthly"))],
        help_text=_("From a due date that is also a due date of the new frequency."))
    modal_premium = forms.DecimalField(label=_("Premium per installment at the new frequency"), required=False,
                                       max_digits=14, decimal_places=2, min_value=Decimal("0.01"))
    bank_name = forms.CharField(label=_("Bank"), required=False, max_length=64)
    bank_account = forms.CharField(label=_("Bank account"), required=False, max_length=34)
    bank_account_name = forms.CharField(label=_("Account name"), required=False, max_length=64)

    def details(self) -> dict:
        data = self.cleaned_data
        if data["kind"] == "deferral":
            return {"end": data["end"].isoformat() if data.get("end") else ""}
        if data["kind"] == "reduced_paid_up":
            return {"sum_assured": str(data["sum_assured"]) if data.get("sum_assured") is not None else ""}
        details = {k: data.get(k, "") for k in ("payment_method", "bank_name", "bank_account", "bank_account_name",
                                                 "frequency")}
        details["modal_premium"] = str(data["modal_premium"]) if data.get("modal_premium") is not None else ""
        return details
