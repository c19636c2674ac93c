"""Labels of the rules that change a policy's status, for people. Each app registers its own
rules in AppConfig.ready() (the import direction of DESIGN.md section 4 forbids a central list)."""

from django.utils.translation import gettext_lazy as _

_LABELS = {
    "feed_first_import": _("Core system: first import"),
    "feed_status_change": _("Core system: status changed"),
    "manual": _("By hand"),
}


def rule_label_register(code: str, label) -> None:
    _LABELS.setdefault(code, label)


def rule_label(code: str) -> str:
    return str(_LABELS.get(code, code))
