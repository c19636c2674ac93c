import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpResponseBadRequest, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from accounts.roles import perm
from core.errors import ApplicationError
from outreach.selectors import CHANNEL_LABELS, KIND_LABELS
from outreach.services.consent import customer_unsubscribe, sms_replies_apply, unsubscribe_token_read
from outreach.services.receipts import sms_receipts_apply


def _provider_answer(apply, request):
    """A provider's push, authenticated by the body's signature and its timestamp."""
    try:
        counts = apply(body=request.body, signature=request.headers.get("X-Signature", ""),
                       timestamp=request.headers.get("X-Timestamp", ""), now=timezone.now())
    except ApplicationError as exc:
        return JsonResponse({"code": 1, "msg": str(exc)}, status=getattr(exc, "status", 400) or 400)
    return JsonResponse({"code": 0, "msg": "接收成功", **counts})  # the answer Dysms expects: code 0


@csrf_exempt  # a provider's server, authenticated by the body's signature
@require_POST
def sms_receipts(request):
    return _provider_answer(sms_receipts_apply, request)


@csrf_exempt  # the provider's uplink (replies), authenticated by the body's signature
@require_POST
def sms_replies(request):
    return _provider_answer(sms_replies_apply, request)


@csrf_exempt  # the voice provider's call reports, authenticated by the body's signature
@require_POST
def voice_reports(request):
    from outreach.services.calls import call_reports_apply

    return _provider_answer(call_reports_apply, request)


@require_http_methods(["GET", "POST"])
def unsubscribe(request, token: str):
    """The e-mail's link: no login (the signature is the authority). GET asks, POST opts out, so
    a mail scanner following links changes nothing."""
    try:
        customer, channel = unsubscribe_token_read(token)
        if request.method == "POST":
            customer = customer_unsubscribe(token=token, occurred_at=timezone.now())
    except ApplicationError:
        return render(request, "outreach/unsubscribe.html", {"invalid": True}, status=404)
    return render(request, "outreach/unsubscribe.html", {
        "done": channel in customer.opt_outs, "channel": channel, "token": token})


# --- the template editor (team leads: configure_templates) --------------------------------------

FIELDS = {"zh-hans": "zh", "en": "en"}
LANGUAGE_LABELS = {"zh-hans": "中文", "en": "English"}  # each in its own language


def _current(channel: str, kind: str) -> dict:
    from outreach.models import MessageTemplate

    return {t.language: t for t in MessageTemplate.objects.filter(channel=channel, kind=kind, active=True)}


def _sample_policy(request, number: str):
    from policies.selectors import policy_list

    policies = policy_list(user=request.user)
    if number:
        return policies.filter(policy_no=number).first()
    return policies.order_by("pk").first()


def _previews(request, form_data: dict, channel: str) -> dict:
    from outreach.services.templates import template_preview, template_sample_variables

    policy = _sample_policy(request, (form_data.get("sample") or "").strip())
    variables = template_sample_variables(policy=policy)
    previews = {}
    for suffix in FIELDS.values():
        previews[suffix] = template_preview(subject=form_data.get(f"subject_{suffix}", "") or "",
                                            body=form_data.get(f"body_{suffix}", "") or "", variables=variables,
                                            channel=channel, purpose=form_data.get("purpose") or "service")
    return {"previews": previews, "sample_policy": policy}


@login_required
@permission_required(perm("configure_templates"), raise_exception=True)
def templates_list(request):
    from outreach.selectors import templates_overview
    from outreach.services.budget import channel_spending

    return render(request, "outreach/templates_list.html", {"overview": templates_overview(),
                                                            "spending": channel_spending(now=timezone.now())})


@login_required
@permission_required(perm("configure_templates"), raise_exception=True)
@require_http_methods(["GET", "POST"])
def template_edit(request, channel: str, kind: str):
    from outreach.forms import TemplateEditForm
    from outreach.services.templates import template_create

    current = _current(channel, kind)
    if not current:
        raise Http404
    initial = {"purpose": next(iter(current.values())).purpose}
    for language, suffix in FIELDS.items():
        t = current.get(language)
        if t is not None:
            initial.update({f"subject_{suffix}": t.subject, f"body_{suffix}": t.body,
                            f"template_code_{suffix}": t.provider_template_code})
            initial["sign_name"] = initial.get("sign_name") or t.sign_name
    form = TemplateEditForm(request.POST or None, initial=initial, channel=channel)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        created = []
        try:
            with transaction.atomic():
                for language, suffix in FIELDS.items():
                    old = current.get(language)
                    new = {"subject": data.get(f"subject_{suffix}", ""), "body": data[f"body_{suffix}"],
                           "provider_template_code": data.get(f"template_code_{suffix}", ""),
                           "sign_name": data.get("sign_name", ""), "purpose": data["purpose"]}
                    if old is not None and all(getattr(old, k) == v for k, v in new.items()):
                        continue  # unchanged: no new version
                    created.append(template_create(channel=channel, kind=kind, language=language, actor=request.user,
                                                   **new))
        except ApplicationError as exc:
            form.add_error(None, str(exc))
        else:
            if created:
                messages.success(request, _("Saved as a new version: %(versions)s.") % {
                    "versions": ", ".join(f"{LANGUAGE_LABELS.get(t.language, t.language)} v{t.version}"
                                          for t in created)})
            else:
                messages.info(request, _("Nothing changed."))
            return redirect("outreach:templates")
    context = {"form": form, "channel": channel, "kind": kind, "current": current,
               "channel_label": CHANNEL_LABELS.get(channel, channel), "kind_label": KIND_LABELS.get(kind, kind),
               **_previews(request, form.data if form.is_bound else initial, channel)}
    return render(request, "outreach/template_edit.html", context)


@login_required
@permission_required(perm("configure_templates"), raise_exception=True)
@require_POST
def template_preview(request, channel: str, kind: str):
    """HTMX: the texts being typed, rendered on the sample policy in both languages (writes nothing)."""
    return render(request, "outreach/_template_preview.html", {"channel": channel,
                                                              **_previews(request, request.POST, channel)})


@login_required
@permission_required(perm("configure_templates"), raise_exception=True)
@require_POST
def template_approval(request, channel: str, kind: str):
    from outreach.forms import ApprovalForm
    from outreach.models import MessageTemplate
    from outreach.services.templates import template_approval_record

    form = ApprovalForm(request.POST)
    if not form.is_valid():
        return HttpResponseBadRequest()
    template = MessageTemplate.objects.filter(channel=channel, kind=kind, language=form.cleaned_data["language"],
                                              version=form.cleaned_data["version"]).first()
    if template is None:
        raise Http404
    try:
        template_approval_record(template=template, approved=form.cleaned_data["approved"],
                                 note=form.cleaned_data["note"], actor=request.user)
    except ApplicationError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("The provider's answer is recorded."))
    return redirect("outreach:templates")


@login_required
@require_http_methods(["GET"])
def dev_inbox(request):
    """What the local SMTP server and the fake providers received (bin/dev): staff who configure the
    system. Phones and addresses are the demo's made-up ones; shown masked all the same."""
    from outreach.dev_inbox import inbox_entries

    if not (request.user.is_staff and request.user.has_perm(perm("configure_system"))):
        raise PermissionDenied
    return render(request, "outreach/dev_inbox.html", {"entries": inbox_entries(limit=200)})


@login_required
@permission_required(perm("view_portfolio"), raise_exception=True)
def proofs_export(request, policy_no: str):
    """The policy's delivery proofs as a spreadsheet (the evidence a regulator or a court asks for)."""
    from core.exports import download, xlsx_bytes
    from outreach.services.proofs import policy_proofs
    from policies.selectors import policy_get

    policy = policy_get(user=request.user, policy_no=policy_no, request_path=request.path)
    headers = [_("Policy"), _("Notice"), _("Channel"), _("Address"), _("Sent"), _("Delivered"), _("Provider's id"),
               _("Provider's receipt"), _("What was sent")]
    rows = [[policy.policy_no, p.notice, p.channel, p.address, timezone.localtime(p.sent_at).replace(tzinfo=None),
             timezone.localtime(p.delivered_at).replace(tzinfo=None) if p.delivered_at else None, p.provider_id,
             json.dumps(p.receipt, ensure_ascii=False), p.content] for p in policy_proofs(policy=policy)]
    return download(xlsx_bytes(sheets=[(policy.policy_no, headers, rows)]),
                    filename=f"delivery-proof-{policy.policy_no}.xlsx")
