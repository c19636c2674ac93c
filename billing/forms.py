from collections.abc import Sequence
from typing import cast

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from billing.models import CsvTemplate, MatchingRule
from billing.services.statements import FORMATS
from core.dates import business_today
from core.forms import DateInput

FORMAT_LABELS = {
    "camt053": _("ISO 20022 camt.053 statement"),
    "camt054": _("ISO 20022 camt.054 notification"),
    "mt940": _("SWIFT MT940 statement"),
    "csv": _("Bank CSV (column template)"),
    "alipay": _("Alipay bill"),
    "wechatpay": _("WeChat Pay bill"),
    "pain002": _("Debit results (pain.002 or CSV)"),
}
# the built-in CSV templates; the saved ones are added per form
BUILT_IN_TEMPLATES = [("generic", _("generic (value_date, amount, ...)")),
                      ("cn-online-banking", _("Chinese online banking (交易日期, 收入金额, ...)"))]


class StatementUploadForm(forms.Form):
    file = forms.FileField(label=_("File"))
    format = forms.ChoiceField(label=_("Format"), choices=[(f, FORMAT_LABELS[f]) for f in FORMATS])
    template = forms.ChoiceField(
        label=_("CSV template"), required=False, choices=BUILT_IN_TEMPLATES,
        help_text=_("Only for bank CSV files."),
    )
    account = forms.CharField(label=_("Receiving account"), required=False, max_length=64,
                              help_text=_("Our account the money came into; empty: the main account."))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        saved = [(t.name, f"{t.name} ({t.bank_name})" if t.bank_name else t.name) for t in CsvTemplate.objects.all()]
        cast(forms.ChoiceField, self.fields["template"]).choices = [*BUILT_IN_TEMPLATES, *saved]

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > settings.UPLOAD_MAX_BYTES:
            raise forms.ValidationError(_("The file is larger than the upload limit."))
        return upload


class SuspenseFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"), required=False,
        choices=[("", _("Unmatched and proposed")), ("suspense", _("Unmatched")), ("proposed", _("Proposed")),
                 ("kept", _("Kept")), ("refunded", _("Refunded"))],
    )
    q = forms.CharField(label=_("Payer, reference or text"), required=False, max_length=64)
    date_from = forms.DateField(label=_("From"), required=False, widget=DateInput())
    date_to = forms.DateField(label=_("To"), required=False, widget=DateInput())


class ManualMatchForm(forms.Form):
    policy_no = forms.CharField(label=_("Policy number"), max_length=32)
    amount = forms.DecimalField(label=_("Amount"), max_digits=14, decimal_places=2, min_value=0.01)


class RematchForm(forms.Form):
    """The lines of the preview finance confirms (the matcher decides each again)."""

    payment = forms.TypedMultipleChoiceField(coerce=int, choices=[], required=True)

    def __init__(self, *args, payment_ids: Sequence[int] = (), **kwargs):
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["payment"]).choices = [(pk, str(pk)) for pk in payment_ids]


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=256)
    # refunds only: empty is the account that paid
    destination_account = forms.CharField(label=_("Refund to account"), max_length=64, required=False,
                                          help_text=_("Empty: back to the account that paid."))


class DebitBatchForm(forms.Form):
    collection_date = forms.DateField(label=_("Collection date"), initial=business_today,
                                      widget=DateInput())


class ReconciliationForm(forms.Form):
    day = forms.DateField(label=_("Value date"), initial=business_today, widget=DateInput())


class MatchingRuleForm(forms.ModelForm):
    class Meta:
        model = MatchingRule
        fields = ["position", "name", "active", "kind", "pattern", "amount_tolerance", "window_days", "accepts_partial",
                  "action"]

    def clean_pattern(self):
        import re

        pattern = self.cleaned_data.get("pattern", "")
        try:
            compiled = re.compile(pattern) if pattern else None
        except re.error as exc:
            raise forms.ValidationError(_("Not a valid regular expression: %(error)s"), params={"error": exc}) from None
        if compiled is not None and compiled.groups < 1:
            raise forms.ValidationError(_("Put the policy number in a group: ( ... )."))
        return pattern

    def clean(self):
        data = super().clean() or {}
        if data.get("kind") == MatchingRule.Kind.REFERENCE and not data.get("pattern"):
            self.add_error("pattern", _("The policy-number condition needs a regular expression."))
        if data.get("accepts_partial") and data.get("kind") == MatchingRule.Kind.PAYER_NAME:
            # a name is shared by many people: only a policy number or a registered account says whose money it is
            self.add_error("accepts_partial", _("Only the policy-number and payer-account conditions may accept "
                                                "other amounts."))
        return data


MAPPING_FIELDS = [
    ("value_date", _("Value date column"), True), ("amount", _("Amount column"), True),
    ("currency", _("Currency column"), False), ("payer_name", _("Payer name column"), False),
    ("payer_account", _("Payer account column"), False), ("reference", _("Reference column"), False),
    ("remittance", _("Remittance text column(s)"), False), ("booking_date", _("Booking date column"), False),
    ("debit_amount", _("Debit amount column"), False),
]


class CsvTemplateForm(forms.Form):
    """A bank's column headers, one per field of ours; several remittance columns are separated by commas."""

    name = forms.SlugField(label=_("Template name"), max_length=64)
    bank_name = forms.CharField(label=_("Bank"), max_length=64, required=False)

    def __init__(self, *args, instance: CsvTemplate | None = None, **kwargs):
        if instance is not None and "initial" not in kwargs:
            initial = {"name": instance.name, "bank_name": instance.bank_name}
            for key, value in instance.mapping.items():
                initial[key] = ", ".join(value) if isinstance(value, list) else value
            kwargs["initial"] = initial
        super().__init__(*args, **kwargs)
        self.instance = instance
        for key, label, required in MAPPING_FIELDS:
            self.fields[key] = forms.CharField(label=label, max_length=128, required=required)

    def clean_name(self):
        from billing import importers

        name = self.cleaned_data["name"]
        if name in importers.TEMPLATES:
            raise forms.ValidationError(_("This name belongs to a built-in template."))
        taken = CsvTemplate.objects.filter(name=name)
        if self.instance is not None:
            taken = taken.exclude(pk=self.instance.pk)
        if taken.exists():
            raise forms.ValidationError(_("A template with this name exists."))
        return name

    def mapping(self) -> dict:
        result = {}
        for key, _label, _required in MAPPING_FIELDS:
            value = self.cleaned_data.get(key, "").strip()
            if not value:
                continue
            parts = [part.strip() for part in value.split(",") if part.strip()]
            result[key] = parts if key == "remittance" and len(parts) > 1 else parts[0]
        return result
