"""Client area: Invoices (page and PDF) and Expenses."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render

from accounts.decorators import client_area
from accounts.rights import Area
from billing.documents import invoice_html, invoice_pdf
from billing.selectors import expense_list, invoice_get, invoice_list


@client_area(Area.FINANCES)
def invoices(request):
    client = request.client_context.client
    page = Paginator(invoice_list(client=client), 25).get_page(request.GET.get("page"))
    return render(request, "billing/invoices.html", {"page": page})


@client_area(Area.FINANCES)
def invoice(request, pk: int):
    document = invoice_get(client=request.client_context.client, pk=pk)
    return render(request, "billing/invoice.html", {"invoice": document,
                                                    "lines": document.lines.all()})


@client_area(Area.FINANCES)
def invoice_document(request, pk: int):
    """The invoice as its document template renders it (print view)."""
    document = invoice_get(client=request.client_context.client, pk=pk)
    return HttpResponse(invoice_html(document))


@client_area(Area.FINANCES)
def invoice_download(request, pk: int):
    document = invoice_get(client=request.client_context.client, pk=pk)
    response = HttpResponse(invoice_pdf(document), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{document.number}.pdf"'
    return response


@client_area(Area.FINANCES)
def expenses(request):
    client = request.client_context.client
    page = Paginator(expense_list(client=client), 25).get_page(request.GET.get("page"))
    return render(request, "billing/expenses.html", {"page": page})
