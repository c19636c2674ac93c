"""Message templates: one row per version, rendered with Django's template language.

Variables: name, policy_no, product, amount, due_date, grace_end, stage_code, payment_link (the
policy's payment link, issued when a text uses it: outreach.paylinks) (e-mail also
unsubscribe_url). A change is a new version (the old one is switched off, never edited), so the
version a contact records is the text the customer received.

SMS: the provider sends only texts it approved (template code and sign name). A new SMS version
waits for the provider's approval (recorded by a team lead from the provider's console); until
then the dispatcher keeps using the latest approved version. A marketing-type SMS carries the
opt-out line 回T退订; service reminders follow the provider's rules for notices (none required).
"""

from django.db import transaction
from django.db.models import Max, Q
from django.template import Context, Template
from django.utils.translation import gettext as _

from accounts.roles import perm
from core.errors import ApplicationError
from outreach.models import MessageTemplate

DEFAULT_LANGUAGE = "zh-hans"
LANGUAGES = ("zh-hans", "en")
MARKETING_OPT_OUT = "回T退订"


def _may_configure(actor) -> None:
    # None: the shipped texts and data migrations
    if actor is not None and not actor.has_perm(perm("configure_templates")):
        raise ApplicationError(_("Your role cannot change message templates."), status=403)


def template_create(*, channel: str, kind: str = "reminder", language: str = DEFAULT_LANGUAGE, subject: str = "",
                    body: str, provider_template_code: str = "", sign_name: str = "", actor=None,
                    purpose: str = MessageTemplate.Purpose.SERVICE) -> MessageTemplate:
    """A new version of the (channel, kind, language) text; the previous one is switched off. An
    SMS version needs the provider's template code and sign name and waits for its approval."""
    _may_configure(actor)
    if channel == "sms":
        if not provider_template_code or not sign_name:
            raise ApplicationError(_("An SMS template needs the provider's template code and sign name."),
                                   errors={"provider_template_code": [_("required")]})
        if purpose == MessageTemplate.Purpose.MARKETING and MARKETING_OPT_OUT not in body:
            body = f"{body.rstrip()}{MARKETING_OPT_OUT}"
    if not body.strip():
        raise ApplicationError(_("The text is empty."), errors={"body": [_("required")]})
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
            provider_template_code=provider_template_code, sign_name=sign_name, active=True, created_by=actor,
            purpose=purpose,
            approval=MessageTemplate.Approval.PENDING if channel == "sms" else MessageTemplate.Approval.NOT_NEEDED)


def template_approval_record(*, template: MessageTemplate, approved: bool, note: str = "", actor) -> MessageTemplate:
    """The provider's answer on an SMS template (审核通过 / 审核失败), recorded by a team lead."""
    _may_configure(actor)
    if template.channel != "sms":
        raise ApplicationError(_("Only SMS templates are approved by the provider."))
    with transaction.atomic():
        template = MessageTemplate.objects.select_for_update().get(pk=template.pk)
        template.approval = MessageTemplate.Approval.APPROVED if approved else MessageTemplate.Approval.REJECTED
        template.approval_note = note[:256]
        template.save(update_fields=["approval", "approval_note"])
    return template


def templates_current(*, channels, kinds) -> dict[tuple[str, str, str], MessageTemplate]:
    """The version in use of every (channel, kind, language) asked for, in one query: the active
    one, for SMS the latest the provider approved."""
    channels = list(channels)
    rows = (MessageTemplate.objects.filter(channel__in=list(channels), kind__in=list(kinds))
            .filter(Q(active=True, channel__in=[c for c in channels if c != "sms"])
                    | Q(channel="sms", approval=MessageTemplate.Approval.APPROVED))
            .order_by("version"))
    return {(t.channel, t.kind, t.language): t for t in rows}  # the highest version wins


def template_pick(current: dict, *, channel: str, kind: str, language: str) -> MessageTemplate | None:
    """The customer's language, else Chinese."""
    return current.get((channel, kind, language)) or current.get((channel, kind, DEFAULT_LANGUAGE))


def template_render(template: MessageTemplate, variables: dict) -> tuple[str, str]:
    """(subject, body): plain text, no HTML escaping (e-mail text and SMS)."""
    context = Context(variables, autoescape=False)
    return Template(template.subject).render(context).strip(), Template(template.body).render(context)


SAMPLE_VARIABLES = {"name": "张*", "policy_no": "8860000000000000", "product": "福寿安康终身寿险", "amount": "300.00",
                    "stage_code": "T-7", "payment_link": "http://localhost:8000/p/ABCD2345EFGH/"}


def template_sample_variables(*, policy=None) -> dict:
    """The variables of a sample policy for the editor's preview: its oldest open installment
    (the holder's name masked: a preview is not a reason to show personal data), or made-up values."""
    import datetime as dt

    from billing.models import Installment

    variables = {**SAMPLE_VARIABLES, "due_date": dt.date(2026, 12, 31), "grace_end": dt.date(2027, 3, 1),
                 "unsubscribe_url": "https://example.com/outreach/unsubscribe/…/"}
    if policy is None:
        return variables
    installment = (Installment.objects.filter(policy=policy, status__in=Installment.OPEN_STATUSES)
                   .order_by("sequence").first())
    variables.update({"name": (policy.holder.name[:1] + "*" * max(1, len(policy.holder.name) - 1)),
                      "policy_no": policy.policy_no, "product": policy.product.name})
    if installment is not None:
        variables.update({"amount": f"{installment.amount_due - installment.amount_paid:.2f}",
                          "due_date": installment.due_date, "grace_end": installment.grace_end})
    return variables


def template_preview(*, subject: str, body: str, variables: dict, channel: str = "email",
                     purpose: str = MessageTemplate.Purpose.SERVICE) -> dict:
    """What the customer would read: {"subject", "body", "error", "length"} (SMS: the length the
    provider bills by, 70 characters a part)."""
    if channel == "sms" and purpose == MessageTemplate.Purpose.MARKETING and MARKETING_OPT_OUT not in body:
        body = f"{body.rstrip()}{MARKETING_OPT_OUT}"
    try:
        rendered_subject, rendered_body = template_render(MessageTemplate(subject=subject, body=body), variables)
    except Exception as exc:  # a syntax error while typing: shown, not raised
        return {"subject": "", "body": "", "error": str(exc), "length": 0, "parts": 0}
    length = len(rendered_body)
    return {"subject": rendered_subject, "body": rendered_body, "error": "", "length": length,
            "parts": 1 if length <= 70 else -(-length // 67)}
