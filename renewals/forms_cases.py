from django import forms
from django.utils.translation import gettext_lazy as _

from policies.models import Branch, Policy
from renewals.models import Case, ContactAttempt
from renewals.services.cases import FEEDBACK_CATEGORIES, HANDOFF_TYPES

CHANNELS = [("phone", _("Phone")), ("sms", _("SMS")), ("wechat", _("WeChat")), ("visit", _("Visit")),
            ("counter", _("Counter"))]
FEEDBACK_LABELS = {"late_notice": _("Late notice"), "payment_hassle": _("Payment hassle"),
                   "product_question": _("Product question"), "service": _("Service"), "other": _("Other")}
DEPARTMENT_LABELS = {"sales": _("Servicing agent (sales)"), "underwriting": _("Underwriting"), "claims": _("Claims"),
                     "finance": _("Finance"), "it": _("IT")}


class BootstrapForm(forms.Form):
    """Bootstrap's small controls on every widget (radios keep their own look)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.RadioSelect):
                widget.attrs.setdefault("class", "form-check-input")
            elif isinstance(widget, forms.Select):
                widget.attrs.setdefault("class", "form-select form-select-sm")
            else:
                widget.attrs.setdefault("class", "form-control form-control-sm")


class ContactForm(BootstrapForm):
    channel = forms.ChoiceField(label=_("Channel"), choices=CHANNELS, initial="phone")
    reached = forms.TypedChoiceField(label=_("Reached"), choices=[("1", _("Reached")), ("0", _("Not reached"))],
                                     coerce=lambda v: v == "1", initial="1", widget=forms.RadioSelect)
    reason = forms.ChoiceField(label=_("Reason"), choices=[("", "—"), *ContactAttempt.Reason.choices], required=False)
    outcome = forms.ChoiceField(label=_("Outcome"), choices=ContactAttempt.Outcome.choices)
    promised_on = forms.DateField(label=_("Promised to pay on"), required=False,
                                  widget=forms.DateInput(attrs={"type": "date"}))
    next_action_on = forms.DateField(label=_("Next action on"), required=False,
                                     widget=forms.DateInput(attrs={"type": "date"}))
    note = forms.CharField(label=_("Note"), max_length=512, required=False)
    # what a customer wanting a plan change asks for (the application is opened prefilled)
    plan_frequency = forms.ChoiceField(label=_("New frequency"), required=False,
                                       choices=[("", "—"), *Policy.Frequency.choices])
    plan_payment_method = forms.ChoiceField(label=_("New payment method"), required=False,
                                            choices=[("", "—"), *Policy.PaymentMethod.choices])

    def plan_change(self) -> dict:
        return {"frequency": self.cleaned_data.get("plan_frequency") or "",
                "payment_method": self.cleaned_data.get("plan_payment_method") or ""}


class HandoffForm(BootstrapForm):
    department = forms.ChoiceField(label=_("To"), choices=[(k.value, DEPARTMENT_LABELS[k.value]) for k in HANDOFF_TYPES])
    question = forms.CharField(label=_("Question"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))


class AnswerForm(BootstrapForm):
    answer = forms.CharField(label=_("Answer"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))


class NoteForm(BootstrapForm):
    text = forms.CharField(label=_("Note"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))
    attachment = forms.FileField(label=_("Attachment"), required=False)

    def clean_attachment(self):
        upload = self.cleaned_data.get("attachment")
        if upload and upload.size > 5 * 1024 * 1024:
            raise forms.ValidationError(_("At most 5 MB."))
        return upload


class FeedbackForm(BootstrapForm):
    category = forms.ChoiceField(label=_("Feedback"), choices=[(k, FEEDBACK_LABELS[k]) for k in FEEDBACK_CATEGORIES])
    text = forms.CharField(label=_("What the customer said"), max_length=2000,
                           widget=forms.Textarea(attrs={"rows": 2}))


class QueueFilterForm(BootstrapForm):
    branch = forms.ModelChoiceField(label=_("Branch"), queryset=Branch.objects.none(), required=False)
    type = forms.ChoiceField(label=_("Type"), choices=[("", _("Any")), *Case.Type.choices], required=False)
    overdue_days = forms.IntegerField(label=_("Overdue at least (days)"), min_value=0, max_value=3650, required=False)
    amount = forms.DecimalField(label=_("At stake at least"), min_value=0, max_digits=14, decimal_places=2,
                                required=False)
    payment_method = forms.ChoiceField(label=_("Payment method"),
                                       choices=[("", _("Any")), *Policy.PaymentMethod.choices], required=False)
    debit_reason = forms.ChoiceField(label=_("Debit failure"), required=False, choices=[("", _("Any"))])
    outcome = forms.ChoiceField(label=_("Last outcome"), choices=[("", _("Any")), *ContactAttempt.Outcome.choices],
                                required=False)
    segment = forms.ChoiceField(label=_("Segment"), choices=[("", _("Any")), *Policy.Segment.choices], required=False)

    def __init__(self, *args, branches=None, **kwargs):
        from billing.models import DebitLine

        super().__init__(*args, **kwargs)
        if branches is not None:
            self.fields["branch"].queryset = branches
        self.fields["debit_reason"].choices = [("", _("Any")), *DebitLine.Reason.choices]


class FeedbackReportForm(BootstrapForm):
    start = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("To"), widget=forms.DateInput(attrs={"type": "date"}))
    period = forms.ChoiceField(label=_("Group by"), choices=[("month", _("Month")), ("week", _("Week")), ("day", _("Day"))])
    branch = forms.ModelChoiceField(label=_("Branch"), queryset=Branch.objects.none(), required=False)

    def __init__(self, *args, branches=None, as_of=None, **kwargs):
        import datetime as dt

        super().__init__(*args, **kwargs)
        if branches is not None:
            self.fields["branch"].queryset = branches
        as_of = as_of or dt.date.today()
        # the default: this month and the five before it, by month
        first = as_of.replace(day=1)
        for _k in range(5):
            first = (first - dt.timedelta(days=1)).replace(day=1)
        self._defaults = {"start": first, "end": as_of, "period": "month", "branch": None}
        for name, value in self._defaults.items():
            self.fields[name].initial = value

    def defaults(self) -> dict:
        return dict(self._defaults)

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end and end < start:
            self.add_error("end", _("The end comes after the start."))
        if start and end and (end - start).days > 3 * 366:
            self.add_error("start", _("At most three years at once."))
        return data
