from django import forms
from django.utils.translation import gettext_lazy as _

from core.forms import DateInput
from risk.kinds import kind_choices
from risk.models import AllowedPayer, Claim, Flag, Rule, Severity
from risk.registry import flag_actions


class QueueFilterForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), required=False,
                               choices=[("", _("Open and escalated"))] + list(Flag.Status.choices))
    kind = forms.ChoiceField(label=_("Kind"), required=False)
    severity = forms.ChoiceField(label=_("Severity"), required=False,
                                 choices=[("", _("Any severity"))] + list(Severity.choices))
    policy_no = forms.CharField(label=_("Policy number"), required=False, max_length=32)
    mine = forms.BooleanField(label=_("Mine"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [("", _("Any kind"))] + kind_choices()


class SnoozeForm(forms.Form):
    until = forms.DateField(label=_("Snooze until"), widget=DateInput())
    reason = forms.CharField(label=_("Reason"), max_length=512)


class DecideForm(forms.Form):
    OUTCOMES = [("clear", _("Clear (false positive)")), ("confirm", _("Confirm")),
                ("escalate", _("Escalate to compliance"))]
    outcome = forms.ChoiceField(label=_("Outcome"), choices=OUTCOMES)
    reason = forms.CharField(label=_("Reason"), max_length=512, widget=forms.Textarea(attrs={"rows": 2}))
    actions = forms.MultipleChoiceField(label=_("On confirmation"), required=False,
                                        widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["actions"].choices = [(a.code, a.label) for a in flag_actions()]


class RuleForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=128)
    threshold = forms.DecimalField(label=_("Threshold"), max_digits=14, decimal_places=2, min_value=0.01)
    days = forms.IntegerField(label=_("Window (days)"), min_value=1, max_value=3650, required=False)
    severity = forms.ChoiceField(label=_("Severity"), choices=Severity.choices)
    products = forms.CharField(label=_("Products"), required=False, max_length=256,
                               help_text=_("Product codes separated by commas; empty: every product."))
    branches = forms.CharField(label=_("Branches"), required=False, max_length=256,
                               help_text=_("Branch codes separated by commas; empty: every branch."))
    active_from = forms.DateField(label=_("Active from"), required=False, widget=DateInput())
    active_to = forms.DateField(label=_("Active until"), required=False, widget=DateInput())
    change_reason = forms.CharField(label=_("Reason for the change"), max_length=256)

    @staticmethod
    def initial_for(rule: Rule) -> dict:
        return {"name": rule.name, "threshold": rule.threshold, "days": (rule.params or {}).get("days"),
                "severity": rule.severity, "products": ",".join(rule.products), "branches": ",".join(rule.branches),
                "active_from": rule.active_from, "active_to": rule.active_to}

    def data_for_service(self, rule: Rule) -> dict:
        data = dict(self.cleaned_data)
        data.pop("change_reason")
        days = data.pop("days")
        data["params"] = {**(rule.params or {}), **({"days": days} if days else {})}
        for name in ("products", "branches"):
            data[name] = [code.strip() for code in data[name].split(",") if code.strip()]
        return data


class BacktestForm(forms.Form):
    as_of = forms.DateField(label=_("As of"), widget=DateInput())


class ClaimForm(forms.Form):
    policy_no = forms.CharField(label=_("Policy number"), max_length=32)
    claim_no = forms.CharField(label=_("Claim number"), max_length=32)
    loss_date = forms.DateField(label=_("Loss date"), widget=DateInput())
    reported_date = forms.DateField(label=_("Reported date"), widget=DateInput())
    kind = forms.ChoiceField(label=_("Claim kind"), choices=Claim.Kind.choices)
    status = forms.ChoiceField(label=_("Claim status"), choices=Claim.Status.choices)


class AllowedPayerForm(forms.Form):
    payer_name = forms.CharField(label=_("Payer name"), max_length=128, required=False)
    payer_account = forms.CharField(label=_("Payer account"), max_length=64, required=False)
    relation = forms.ChoiceField(label=_("Relation"), choices=AllowedPayer.Relation.choices)
    note = forms.CharField(label=_("Note"), max_length=256, required=False)


class MonthForm(forms.Form):
    month = forms.RegexField(label=_("Month"), regex=r"^\d{4}-\d{2}$", required=False,
                             widget=forms.TextInput(attrs={"type": "month"}))
