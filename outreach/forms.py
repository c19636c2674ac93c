from django import forms
from django.utils.translation import gettext_lazy as _

from core.forms import service_errors_show
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


class ChannelIdentitiesForm(forms.Form):
    """The policyholder's WeChat openid and app push client id, typed in by a clerk. The saved
    values are never put back in the form (they are shown masked): an empty field leaves the
    identity as it is; "remove" takes it away."""

    wechat = forms.CharField(label=_("WeChat openid"), max_length=64, required=False,
                             widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
                             help_text=_("From the official account's follower list. Empty: unchanged."))
    wechat_remove = forms.BooleanField(label=_("Remove the WeChat openid"), required=False)
    app = forms.CharField(label=_("App push client id"), max_length=64, required=False,
                          widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
                          help_text=_("The client id the app registered with the push service. Empty: unchanged."))
    app_remove = forms.BooleanField(label=_("Remove the app push client id"), required=False)

    def __init__(self, *args, **kwargs):
        from crispy_forms.helper import FormHelper

        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_tag = False  # the panel's own form tag carries the HTMX attributes (and the token)
        self.helper.disable_csrf = True

    def clean(self):
        data = super().clean() or {}
        for channel in ("wechat", "app"):
            if data.get(f"{channel}_remove") and data.get(channel):
                self.add_error(channel, _("Either enter a new value or remove it, not both."))
        return data

    def identities(self) -> dict[str, str]:
        """What to change: {channel: new value, or "" to remove}; a channel left alone is absent."""
        changes = {}
        for channel in ("wechat", "app"):
            if self.cleaned_data.get(f"{channel}_remove"):
                changes[channel] = ""
            elif self.cleaned_data.get(channel, "").strip():
                changes[channel] = self.cleaned_data[channel].strip()
        return changes

    def add_service_errors(self, exc) -> None:
        """An ApplicationError's field errors beside their fields, the rest above the form."""
        service_errors_show(self, exc)
