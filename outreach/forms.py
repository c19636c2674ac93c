from django import forms
from django.utils.translation import gettext_lazy as _

from outreach.models import MessageTemplate


class TemplateEditForm(forms.Form):
    """Both languages of one (channel, kind) at once, so the lead sees both previews side by side."""

    subject_zh = forms.CharField(label=_("Subject (Chinese)"), max_length=200, required=False)
    body_zh = forms.CharField(label=_("Text (Chinese)"), widget=forms.Textarea(attrs={"rows": 5}))
    subject_en = forms.CharField(label=_("Subject (English)"), max_length=200, required=False)
    body_en = forms.CharField(label=_("Text (English)"), widget=forms.Textarea(attrs={"rows": 5}))
    template_code_zh = forms.CharField(label=_("Provider template code (Chinese)"), max_length=32, required=False)
    template_code_en = forms.CharField(label=_("Provider template code (English)"), max_length=32, required=False)
    sign_name = forms.CharField(label=_("Sign name"), max_length=32, required=False)
    purpose = forms.ChoiceField(label=_("Purpose"), choices=MessageTemplate.Purpose.choices)
    sample = forms.CharField(label=_("Sample policy number"), max_length=32, required=False)

    def __init__(self, *args, channel: str, **kwargs):
        super().__init__(*args, **kwargs)
        if channel != "email":
            del self.fields["subject_zh"], self.fields["subject_en"]
        if channel != "sms":
            del self.fields["template_code_zh"], self.fields["template_code_en"], self.fields["sign_name"]


class ApprovalForm(forms.Form):
    version = forms.IntegerField(min_value=1)
    language = forms.CharField(max_length=8)
    approved = forms.BooleanField(required=False)
    note = forms.CharField(max_length=256, required=False)
