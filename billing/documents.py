"""Invoices as a page and as a PDF, rendered from an HTML template staff can edit.

The PDF comes from xhtml2pdf (pure Python on ReportLab), so `make run`'s own install
produces it on a fresh machine with no system packages.
"""

from __future__ import annotations

import io

from django.template import Context, Template
from django.template.loader import get_template

from billing.models import DocumentTemplate, Invoice


class DocumentError(Exception):
    """The document could not be rendered."""


def _template_source(kind: str, company_id: int) -> Template | None:
    custom = (DocumentTemplate.objects.filter(kind=kind, company_id=company_id).first()
              or DocumentTemplate.objects.filter(kind=kind, company__isnull=True).first())
    return Template(custom.body) if custom is not None else None


def invoice_html(invoice: Invoice) -> str:
    context = {"document": invoice, "lines": list(invoice.lines.all()),
               "company": invoice.company_snapshot, "payer": invoice.payer_snapshot,
               "client": invoice.client}
    custom = _template_source(DocumentTemplate.Kind.INVOICE, invoice.company_id)
    if custom is not None:
        return custom.render(Context(context))
    return get_template("billing/documents/invoice.html").render(context)


def html_to_pdf(html: str) -> bytes:
    from xhtml2pdf import pisa

    out = io.BytesIO()
    result = pisa.CreatePDF(html, dest=out, encoding="utf-8")
    if result.err:
        raise DocumentError("The document template did not render to PDF.")
    return out.getvalue()


def invoice_pdf(invoice: Invoice) -> bytes:
    return html_to_pdf(invoice_html(invoice))


def default_invoice_template() -> str:
    """The built-in template's source, to start a custom one from."""
    with open(get_template("billing/documents/invoice.html").origin.name) as source:
        return source.read()
