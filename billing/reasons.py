"""Why a money line is in suspense, in the reader's language.

Matching and allocation store a code and its parameters on the payment (Payment.reason_code,
Payment.reason_params), never a sentence: finance reads the sentence in Chinese (the default
language) or in English, rendered here, the one place that turns a code into words. What a person
typed (a refund's or a rejection's reason) stays as it was written (Payment.status_reason) and is
shown after the sentence.
"""

from contextlib import nullcontext

from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from billing.models import Payment

R = Payment.ReasonCode

SENTENCES: dict[str, str | Promise] = {
    R.NO_REFERENCE: _("No policy number, registered payer account or policyholder's name points to a policy."),
    R.SEVERAL_POLICIES_REFERENCED: _("The text names several policies (%(policy_nos)s) and the amount fits none of "
                                     "the ways to share it between them."),
    R.AMOUNT_FITS_NO_INSTALLMENT: _("The amount %(amount)s fits no open installment of policy %(policy_no)s."),
    R.PAYER_ACCOUNT_SEVERAL_POLICIES: _("The payer's account is registered on several policies: %(policy_no)s is "
                                        "proposed for a person to check."),
    R.PAYER_NAME_SEVERAL_POLICIES: _("The payer's name is the policyholder's of several policies: %(policy_no)s is "
                                     "proposed for a person to check."),
    R.CONFLICTING_REFERENCE: _("Conflicting reference: the text names policy %(referenced)s, the rule found policy "
                               "%(policy_no)s."),
    R.FOREIGN_CURRENCY: _("Foreign currency %(currency)s: kept unconverted."),
    R.OVERPAYMENT_NOTHING_DUE: _("Over-payment of %(excess)s on policy %(policy_no)s: nothing is left due; to be "
                                 "refunded."),
    R.OVERPAYMENT_BEYOND_12_MONTHS: _("Over-payment of %(excess)s on policy %(policy_no)s beyond what falls due "
                                      "in the 12 months to %(until)s; to be refunded."),
    R.MANUAL_REJECT: _("A person rejected the match to policy %(policy_no)s."),
    R.NOT_MONEY_RECEIVED: _("Not money received."),
}


class _Params(dict):
    """A parameter a row lacks (a reason migrated from an older text) reads as a dash."""

    def __missing__(self, key):
        return "—"


def reason_text(*, code: str, params: dict | None = None, note: str = "", language: str | None = None) -> str:
    """The reason's sentence with its parameters, then the note a person typed. In the active
    language (Chinese unless the user picked English), or in `language` when given."""
    with translation.override(language) if language else nullcontext():
        sentence = SENTENCES.get(code)
        text = str(sentence) % _Params(params or {}) if sentence is not None else ""
    if note:
        text = f"{text} {note}".strip() if text else note
    return text

