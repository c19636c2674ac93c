"""Message templates: one row per version, rendered with Django's template language.

Variables: name, policy_no, product, amount, due_date, grace_end, stage_code. A change is a new
version (the old one is switched off, never edited), so the version a contact records is the text
the customer received.
"""

from django.db import transaction
from django.db.models import Max
from django.template import Context, Template
from django.utils.translation import gettext as _

from core.errors import ApplicationError
from outreach.models import MessageTemplate

DEFAULT_LANGUAGE = "zh-hans"


def template_create(*, channel: str, kind: str = "reminder", language: str = DEFAULT_LANGUAGE, subject: str = "",
                    body: str, provider_template_code: str = "", sign_name: str = "", actor=None) -> MessageTemplate:
    """A new version of the (channel, kind, language) text; the previous one is switched off."""
    try:
        Template(body)
        Template(subject)
    except Exception as exc:  # TemplateSyntaxError and friends: the editor shows it
        raise ApplicationError(_("The template does not parse: %(error)s") % {"error": exc}) from exc
    with transaction.atomic():
        current = (MessageTemplate.objects.select_for_update()
                   .filter(channel=channel, kind=kind, language=language))
        version = (current.aggregate(v=Max("version"))["v"] or 0) + 1
        current.filter(active=True).update(active=False)
        return MessageTemplate.objects.create(
            channel=channel, kind=kind, language=language, version=version, subject=subject, body=body,
            provider_template_code=provider_template_code, sign_name=sign_name, active=True, created_by=actor)


def templates_current(*, channels, kinds) -> dict[tuple[str, str, str], MessageTemplate]:
    """The active version of every (channel, kind, language) asked for, in one query."""
    rows = MessageTemplate.objects.filter(active=True, channel__in=list(channels), kind__in=list(kinds))
    return {(t.channel, t.kind, t.language): t for t in rows}


def template_pick(current: dict, *, channel: str, kind: str, language: str) -> MessageTemplate | None:
    """The customer's language, else Chinese."""
    return current.get((channel, kind, language)) or current.get((channel, kind, DEFAULT_LANGUAGE))


def template_render(template: MessageTemplate, variables: dict) -> tuple[str, str]:
    """(subject, body): plain text, no HTML escaping (e-mail text and SMS)."""
    context = Context(variables, autoescape=False)
    return Template(template.subject).render(context).strip(), Template(template.body).render(context)
