"""The three largest contributions of a score, in words in the reader's language.

A contribution is the logistic regression's coefficient times the feature's deviation from its
training mean (in standard deviations): how much this policy's value moves its log-odds away from
the average policy's. Stored as codes and numbers (scoring_policyscore.explanations); the words
are chosen when a page is rendered, in the language of the person reading it.
"""

import numpy as np
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from scoring.features import FEATURES

# indicator features: (when on, when off)
FLAGS = {
    "age_under_30": (_("Policyholder under 30"), _("Policyholder 30 or over")),
    "age_45_59": (_("Policyholder aged 45-59"), _("Policyholder not aged 45-59")),
    "age_60_plus": (_("Policyholder aged 60 or over"), _("Policyholder under 60")),
    "method_bank_transfer": (_("Pays by bank transfer"), _("Does not pay by bank transfer")),
    "method_online": (_("Pays online"), _("Does not pay online")),
    "method_counter": (_("Pays at the counter"), _("Does not pay at the counter")),
    "kind_health_accident": (_("Health or accident product"), _("Not a health or accident product")),
    "kind_critical_illness": (_("Critical illness product"), _("Not a critical illness product")),
    "kind_annuity": (_("Annuity product"), _("Not an annuity product")),
    "frequency_monthly": (_("Pays monthly"), _("Does not pay monthly")),
    "frequency_quarterly": (_("Pays quarterly"), _("Does not pay quarterly")),
    "frequency_semiannual": (_("Pays every six months"), _("Does not pay every six months")),
    "premium_high": (_("Annual premium of 20,000 or more"), _("Annual premium under 20,000")),
    "premium_low": (_("Annual premium under 2,000"), _("Annual premium of 2,000 or more")),
    "overdue": (_("An installment is overdue"), _("Nothing overdue")),
    "partial_open": (_("The overdue installment is partly paid"), _("No partial payment outstanding")),
    "exposed": (_("A grace period ends within 90 days"), _("No grace period ends within 90 days")),
    "debit_hard_last": (_("Last debit failed: account problem"), _("Last debit had no account problem")),
    "debit_failed_last": (_("Last debit failed"), _("Last debit did not fail")),
    "hold_active": (_("Collection is on hold"), _("No hold")),
}
# numeric features: the sentence with the value
AMOUNTS = {
    "tenure_years": _("Policy held %(value)s years"),
    "days_overdue": _("%(value)s days overdue"),
    "open_in_window": _("%(value)s unpaid installments reach the end of grace within 90 days"),
    "late_share_12m": _("%(value)s%% of last year's installments paid late"),
    "debit_soft_90d": _("%(value)s debits failed for insufficient funds in 90 days"),
    "contact_negative_90d": _("%(value)s calls unanswered or refused in 90 days"),
    "contact_promised_90d": _("%(value)s promises to pay in 90 days"),
    "reminder_failed_90d": _("%(value)s reminders failed in 90 days"),
}
# how a feature's model value is shown (days_overdue is modelled in months of 30 days)
DISPLAY_FACTOR = {"days_overdue": 30.0, "late_share_12m": 100.0}


def display_values(x: np.ndarray) -> np.ndarray:
    shown = x.copy()
    for name, factor in DISPLAY_FACTOR.items():
        shown[:, FEATURES.index(name)] *= factor
    return np.round(shown, 1)


def top_contributions(contributions: np.ndarray, k: int = 3) -> np.ndarray:
    """Indices of the k largest contributions of each row, largest first (those that raise the
    risk most; for a safe policy, the ones that lower it least)."""
    k = min(k, contributions.shape[1])
    part = np.argpartition(-contributions, k - 1, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(contributions, part, axis=1), axis=1)
    return np.take_along_axis(part, order, axis=1)


def explanation_text(item: dict) -> str:
    """One stored explanation ({"feature", "value", "contribution"}) in the active language."""
    feature, value = item.get("feature", ""), item.get("value", 0)
    if feature in FLAGS:
        on, off = FLAGS[feature]
        return str(on if value else off)
    if feature in AMOUNTS:
        shown = int(value) if float(value).is_integer() else value
        return str(AMOUNTS[feature]) % {"value": shown}
    return feature


def explanation_direction(item: dict) -> str:
    return gettext("raises the risk") if item.get("contribution", 0) > 0 else gettext("lowers the risk")


def explanations_render(items: list[dict]) -> list[dict]:
    return [{"text": explanation_text(item), "direction": explanation_direction(item),
             "raises": item.get("contribution", 0) > 0} for item in items]
