from crispy_forms.helper import FormHelper
from crispy_forms.layout import Submit
from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from core.dates import business_today
from core.forms import DateInput


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    widget = MultipleFileInput

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, (list, tuple)):
            return [single(d, initial) for d in data]
        return [single(data, initial)]


class PolicyImportForm(forms.Form):
    # the field's name shadows BaseForm.files in the stubs only: the metaclass moves it to base_fields
    files = MultipleFileField(  # type: ignore[assignment]
        label=_("Data files"),
        help_text=_("Any of branches.csv, products.csv and policies.csv, recognised by their header; UTF-8 or GBK."),
    )
    as_of = forms.DateField(
        label=_("Business date"), initial=business_today, widget=DateInput(),
        help_text=_("Status changes take effect on this date."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.add_input(Submit("submit", _("Import")))

    def clean_files(self):
        files = self.cleaned_data["files"]
        for f in files:
            if f.size > settings.UPLOAD_MAX_BYTES:
                raise forms.ValidationError(_("The file %(name)s is larger than the upload limit."), params={"name": f.name})
        return files


class PolicySearchForm(forms.Form):
    q = forms.CharField(
        label=_("Search"), required=False, max_length=64,
        widget=forms.TextInput(attrs={"placeholder": _("Policy number, name, ID number or mobile phone"), "autofocus": True}),
    )
