"""Client area: Invoices (page and PDF), Expenses and the promised payment."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST
from djmoney.money import Money

from accounts.decorators import client_area
from accounts.rights import Access, Area
from billing.documents import (
    closing_html,
    closing_pdf,
    credit_note_html,
    credit_note_pdf,
    invoice_html,
    invoice_pdf,
)
from billing.forms import PromiseForm
from billing.ledger import personal_account
from billing.models import InvoiceStatus
from billing.promises import PromiseRefused, promised_payment_take
from billing.selectors import (
    closing_get,
    closing_list,
    credit_note_get,
    expense_list,
    invoice_get,
    invoice_list,
    promised_payment_offer,
)
from core.forms import parse_id
from core.money import format_money, plain_amount
from services.selectors import service_get

DUE_SHOWN = 50  # unpaid invoices listed on top; more are in the full list below


@client_area(Area.FINANCES)
def invoices(request):
    """What is due first (unpaid invoices, to pay or cancel), then every invoice."""
    client = request.client_context.client
    page = Paginator(invoice_list(client=client), 25).get_page(request.GET.get("page"))
    due = list(invoice_list(client=client).filter(status=InvoiceStatus.NEW)[:DUE_SHOWN])
    return render(request, "billing/invoices.html", {
        "page": page, "due": due,
        "can_manage": request.client_context.can(Area.FINANCES, Access.MANAGE)})


@client_area(Area.FINANCES)
def invoice(request, pk: int):
    document = invoice_get(client=request.client_context.client, pk=pk)
    return render(request, "billing/invoice.html", {
        "invoice": document, "lines": document.lines.all(),
        "can_manage": request.client_context.can(Area.FINANCES, Access.MANAGE)})


@client_area(Area.FINANCES)
def invoice_document(request, pk: int):
    """The invoice as its document template renders it (print view)."""
    document = invoice_get(client=request.client_context.client, pk=pk)
    return HttpResponse(invoice_html(document))


@client_area(Area.FINANCES)
def invoice_download(request, pk: int):
    document = invoice_get(client=request.client_context.client, pk=pk)
    return _pdf(invoice_pdf(document), document.number)


def _pdf(document_pdf: bytes, number: str = "") -> HttpResponse:
    response = HttpResponse(document_pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{number or "document"}.pdf"'
    return response


@client_area(Area.FINANCES)
def closing_documents(request):
    """The monthly closing documents: what was charged day by day and for overages."""
    client = request.client_context.client
    page = Paginator(closing_list(client=client), 25).get_page(request.GET.get("page"))
    return render(request, "billing/closing_documents.html", {"page": page})


@client_area(Area.FINANCES)
def closing_document(request, pk: int):
    document = closing_get(client=request.client_context.client, pk=pk)
    return render(request, "billing/closing_document.html",
                  {"document": document, "lines": document.lines.all()})


@client_area(Area.FINANCES)
def closing_document_print(request, pk: int):
    return HttpResponse(closing_html(closing_get(client=request.client_context.client, pk=pk)))


@client_area(Area.FINANCES)
def closing_document_pdf(request, pk: int):
    document = closing_get(client=request.client_context.client, pk=pk)
    return _pdf(closing_pdf(document), document.number)


@client_area(Area.FINANCES)
def credit_note(request, pk: int):
    note = credit_note_get(client=request.client_context.client, pk=pk)
    return render(request, "billing/credit_note.html", {"note": note,
                                                        "lines": note.lines.all()})


@client_area(Area.FINANCES)
def credit_note_print(request, pk: int):
    return HttpResponse(credit_note_html(credit_note_get(client=request.client_context.client,
                                                         pk=pk)))


@client_area(Area.FINANCES)
def credit_note_pdf_view(request, pk: int):
    note = credit_note_get(client=request.client_context.client, pk=pk)
    return _pdf(credit_note_pdf(note), note.number)


@client_area(Area.FINANCES)
def expenses(request):
    client = request.client_context.client
    service = _service_filter(request)
    page = Paginator(expense_list(client=client, service=service), 25).get_page(
        request.GET.get("page"))
    return render(request, "billing/expenses.html", {"page": page, "service": service})


def _service_filter(request):
    """?service=ID narrows Expenses to one of the client's services (another client's id
    is a 404, as everywhere)."""
    raw = request.GET.get("service", "")
    if not raw:
        return None
    pk = parse_id(raw)
    if pk is None:
        raise Http404("No such service.")
    return service_get(client=request.client_context.client, pk=pk)


@client_area(Area.FINANCES)
def service_charges(request, pk: int):
    """The latest charges of one service, for its page (loaded there by htmx)."""
    service = service_get(client=request.client_context.client, pk=pk)
    charges = expense_list(client=request.client_context.client, service=service)[:10]
    return render(request, "billing/partials/_service_charges.html",
                  {"service": service, "charges": charges})


def _promise_page(request, form: PromiseForm | None = None, status: int = 200):
    client = request.client_context.client
    today = timezone.localdate()
    offer = promised_payment_offer(client, today)
    account = personal_account(client)
    if form is None:
        # What brings the balance back to zero, within the provider's limit.
        debt = -account.balance if account.balance < 0 else offer.maximum.amount
        form = PromiseForm(currency=client.provider.currency, initial={
            "amount": plain_amount(Money(min(debt, offer.maximum.amount), account.currency))})
    return render(request, "billing/promised_payment.html", {
        "offer": offer, "account": account, "form": form,
        "due_on": today + timedelta(days=offer.days),
        "month_usage": f"{offer.used_this_month} of {offer.per_month} taken",
        "can_manage": request.client_context.can(Area.FINANCES, Access.MANAGE),
    }, status=status)


@client_area(Area.FINANCES)
def promised_payment(request):
    return _promise_page(request)


@require_POST
@client_area(Area.FINANCES, Access.MANAGE)
def promised_payment_create(request):
    client = request.client_context.client
    form = PromiseForm(request.POST, currency=client.provider.currency)
    if not form.is_valid():
        return _promise_page(request, form, status=400)
    try:
        promise = promised_payment_take(
            client=client, amount=form.cleaned_data["amount"],
            as_of=timezone.localdate(), user=request.user, request=request)
    except PromiseRefused as refusal:
        messages.error(request, str(refusal))
        return _promise_page(request, form, status=400)
    messages.success(request, f"{format_money(promise.money)} is on your balance until "
                              f"{promise.due_on:%Y-%m-%d}."
                              " Services stopped for non-payment start again.")
    return redirect("billing:promised_payment")
