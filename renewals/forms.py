from typing import cast

from django import forms
from django.utils.translation import gettext_lazy as _

from policies.models import Agent, Branch, Policy, Product


class DueListFilterForm(forms.Form):
    window = forms.ChoiceField(label=_("Due"), initial="month", required=False, choices=[
        ("month", _("Next month")), ("quarter", _("Next quarter")), ("year", _("Next 12 months"))])
    branch = forms.ModelChoiceField(label=_("Branch"), queryset=Branch.objects.none(), required=False)
    product = forms.ModelChoiceField(label=_("Product"), queryset=Product.objects.all(), required=False)
    frequency = forms.ChoiceField(label=_("Payment frequency"), required=False,
                                  choices=[("", _("All")), *Policy.Frequency.choices])
    payment_method = forms.ChoiceField(label=_("Payment method"), required=False,
                                       choices=[("", _("All")), *Policy.PaymentMethod.choices])
    agent = forms.CharField(label=_("Agent code"), required=False, max_length=32)

    def __init__(self, *args, branches=None, **kwargs):
        super().__init__(*args, **kwargs)
        branch = cast(forms.ModelChoiceField, self.fields["branch"])
        branch.queryset = branches if branches is not None else Branch.objects.all()

    def clean_agent(self):
        code = self.cleaned_data.get("agent", "").strip()
        if not code:
            return None
        agent = Agent.objects.filter(code=code).first()
        if agent is None:
            raise forms.ValidationError(_("No agent has this code."))
        return agent
