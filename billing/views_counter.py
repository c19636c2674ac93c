"""Finance's counter payments page: the receipts of money taken at a branch counter (cash or card)."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.roles import perm
from billing.models import CounterPayment
from billing.services.counter import counter_payment_list, counter_payment_record
from core.dates import business_today
from core.errors import ApplicationError
from core.forms import DateInput, service_errors_show
from core.pagination import page_query


class CounterPaymentForm(forms.Form):
    method = forms.ChoiceField(label=gettext_lazy("Paid by"), choices=CounterPayment.Method.choices)
    amount = forms.DecimalField(label=gettext_lazy("Amount"), max_digits=14, decimal_places=2, min_value=0.01)
    value_date = forms.DateField(label=gettext_lazy("Received on"), initial=business_today, widget=DateInput())
    payer_name = forms.CharField(label=gettext_lazy("Payer name"), max_length=128)
    payer_account = forms.CharField(label=gettext_lazy("Payer account (card)"), max_length=64, required=False)
    payer_id_no = forms.CharField(label=gettext_lazy("Payer's ID number"), max_length=32, required=False)
    receipt_no = forms.CharField(label=gettext_lazy("Receipt number"), max_length=32)
    policy_no = forms.CharField(label=gettext_lazy("Policy number"), max_length=32, required=False)


@login_required
@permission_required(perm("import_statements"), raise_exception=True)
def counter_payments(request):
    form = CounterPaymentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            counter_payment_record(actor=request.user, as_of=business_today(), **form.cleaned_data)
        except ApplicationError as exc:
            service_errors_show(form, exc)
        else:
            messages.success(request, _("Counter payment recorded."))
            return redirect("billing:counter_payments")
    page = Paginator(counter_payment_list(user=request.user), 25).get_page(request.GET.get("page"))
    return render(request, "billing/counter.html", {"form": form, "page": page, "page_query": page_query(request)})
