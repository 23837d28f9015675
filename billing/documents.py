"""Invoices, credit notes and closing documents as a page and as a PDF, rendered from
HTML templates staff can edit (Document templates; a company's own wins).

The PDF comes from xhtml2pdf (pure Python on ReportLab), so `make run`'s own install
produces it on a fresh machine with no system packages.
"""

from __future__ import annotations

import io

from django.template import Context, Template
from django.template.loader import get_template

from billing.models import ClosingDocument, CreditNote, DocumentTemplate, Invoice


class DocumentError(Exception):
    """The document could not be rendered."""


def _template_source(kind: str, company_id: int) -> Template | None:
    custom = (DocumentTemplate.objects.filter(kind=kind, company_id=company_id).first()
              or DocumentTemplate.objects.filter(kind=kind, company__isnull=True).first())
    return Template(custom.body) if custom is not None else None


# Each kind of document and its built-in template.
BUILT_IN = {DocumentTemplate.Kind.INVOICE: "billing/documents/invoice.html",
            DocumentTemplate.Kind.CREDIT_NOTE: "billing/documents/credit_note.html",
            DocumentTemplate.Kind.CLOSING: "billing/documents/closing.html"}


def _render(kind: str, document, *, extra: dict | None = None) -> str:
    context = {"document": document, "lines": list(document.lines.all()),
               "company": document.company_snapshot, "payer": document.payer_snapshot,
               "client": document.client, **(extra or {})}
    custom = _template_source(kind, document.company_id)
    if custom is not None:
        return custom.render(Context(context))
    return get_template(BUILT_IN[kind]).render(context)


def invoice_html(invoice: Invoice) -> str:
    return _render(DocumentTemplate.Kind.INVOICE, invoice)


def credit_note_html(note: CreditNote) -> str:
    return _render(DocumentTemplate.Kind.CREDIT_NOTE, note, extra={"invoice": note.invoice})


def closing_html(document: ClosingDocument) -> str:
    return _render(DocumentTemplate.Kind.CLOSING, document)


def html_to_pdf(html: str) -> bytes:
    from xhtml2pdf import pisa

    out = io.BytesIO()
    result = pisa.CreatePDF(html, dest=out, encoding="utf-8")
    if result.err:
        raise DocumentError("The document template did not render to PDF.")
    return out.getvalue()


def invoice_pdf(invoice: Invoice) -> bytes:
    return html_to_pdf(invoice_html(invoice))


def credit_note_pdf(note: CreditNote) -> bytes:
    return html_to_pdf(credit_note_html(note))


def closing_pdf(document: ClosingDocument) -> bytes:
    return html_to_pdf(closing_html(document))


def default_template(kind: str = DocumentTemplate.Kind.INVOICE) -> str:
    """A built-in template's source, to start a custom one from."""
    with open(get_template(BUILT_IN[kind]).origin.name) as source:
        return source.read()
