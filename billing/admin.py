import uuid

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from accounts.admin_base import ReadOnlyStaffAdmin, StaffModelAdmin
from accounts.reauth import require_reauthentication
from billing.corrections import balance_adjust
from billing.documents import closing_pdf, credit_note_pdf, default_template, invoice_pdf
from billing.invoicing import InvoiceError, invoice_cancel
from billing.ledger import LedgerError
from billing.models import (
    AccountKind,
    Charge,
    ClosingDocument,
    ClosingDocumentLine,
    CreditNote,
    DocumentTemplate,
    Entry,
    GroupDiscount,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    LedgerAccount,
    PromisedPayment,
    TaxRate,
    Transaction,
)
from core.forms import AmountField


class DocumentPdfMixin:
    """A document's PDF in the staff panel: a column of the list and a page of its own,
    behind the model's view permission."""

    render_pdf = None  # the document's PDF renderer (billing.documents)

    @admin.display(description="PDF")
    def pdf(self, obj):
        if not obj.number:
            return "—"
        meta = self.model._meta
        return format_html('<a href="{}">PDF</a>', reverse(
            f"admin:{meta.app_label}_{meta.model_name}_pdf", args=[obj.pk]))

    def get_urls(self):
        meta = self.model._meta
        return [path("<int:pk>/pdf/", self.admin_site.admin_view(self.pdf_view),
                     name=f"{meta.app_label}_{meta.model_name}_pdf"), *super().get_urls()]

    def pdf_view(self, request, pk: int):
        # The model's named view permission (e.g. billing.view_invoice).
        if not self.has_view_permission(request):
            raise PermissionDenied
        document = get_object_or_404(self.model, pk=pk)
        response = HttpResponse(self.render_pdf(document), content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="{document.number}.pdf"'
        return response


class EntryInline(admin.TabularInline):
    model = Entry
    fields = ["transaction", "account", "amount", "currency"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ["-id"]

    def has_add_permission(self, request, obj=None):
        return False


class AdjustForm(forms.Form):
    amount = AmountField(signed=True, help_text=_("Positive credits the client, negative "
                                                  "debits it."))
    reason = forms.CharField(max_length=200)
    idempotency_key = forms.CharField(widget=forms.HiddenInput)


@admin.register(LedgerAccount)
class LedgerAccountAdmin(StaffModelAdmin):
    """Ledger accounts; a client's personal account shows its whole ledger."""

    list_display = ["code", "kind", "client", "currency", "balance", "credit_limit"]
    list_filter = ["kind", "currency"]
    search_fields = ["code", "name", "client__name", "client__email"]
    list_select_related = ["client"]
    fields = ["code", "kind", "name", "currency", "client", "company", "balance",
              "credit_limit", "created_at"]
    readonly_fields = ["code", "kind", "name", "currency", "client", "company", "balance",
                       "created_at"]
    inlines = [EntryInline]
    change_form_template = "admin/billing/ledgeraccount/change_form.html"

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        # Only the credit limit is editable; never write the balance back.
        obj.save(update_fields=["credit_limit"])

    def get_urls(self):
        return [path("<int:pk>/adjust/", self.admin_site.admin_view(self.adjust_view),
                     name="billing_ledgeraccount_adjust"), *super().get_urls()]

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        # The credit limit is money the client may spend: changing it needs a fresh
        # re-authentication.
        if request.method == "POST":
            require_reauthentication(request)
        return super().changeform_view(request, object_id, form_url, extra_context)

    def adjust_view(self, request, pk: int):
        if not request.user.has_perm("billing.add_transaction"):
            raise PermissionDenied
        account = get_object_or_404(LedgerAccount, pk=pk, kind=AccountKind.CLIENT)
        if request.method == "POST":
            require_reauthentication(request)
        form = AdjustForm(request.POST or None,
                          initial={"idempotency_key": uuid.uuid4().hex})
        form.fields["amount"].currency = account.currency
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                balance_adjust(client=account.client,
                               amount=data["amount"],
                               reason=data["reason"], actor=request.user,
                               idempotency_key=f"staff:{data['idempotency_key']}",
                               request=request)
            except LedgerError as error:
                form.add_error(None, str(error))
            else:
                messages.success(request, "The balance was adjusted.")
                return redirect("admin:billing_ledgeraccount_change", pk)
        return render(request, "admin/billing/ledgeraccount/adjust.html", {
            **self.admin_site.each_context(request), "account": account, "form": form,
            "title": f"Credit or debit {account}", "opts": self.model._meta})


@admin.register(Transaction)
class TransactionAdmin(ReadOnlyStaffAdmin):
    list_display = ["id", "created_at", "kind", "description", "client", "actor_label"]
    list_filter = ["kind", "created_at"]
    search_fields = ["=id", "description", "idempotency_key", "client__name"]
    list_select_related = ["client"]
    inlines = [EntryInline]
    date_hierarchy = "created_at"


@admin.register(Charge)
class ChargeAdmin(ReadOnlyStaffAdmin):
    list_display = ["created_at", "client", "service", "kind", "description", "amount",
                    "currency", "period_start", "period_end"]
    list_filter = ["kind", "created_at"]
    search_fields = ["description", "client__name", "service__name"]
    list_select_related = ["client", "service"]


class InvoiceLineInline(admin.TabularInline):
    model = InvoiceLine
    fields = ["description", "service", "period_start", "period_end", "quantity", "unit_price",
              "net", "tax", "gross"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Invoice)
class InvoiceAdmin(DocumentPdfMixin, StaffModelAdmin):
    render_pdf = staticmethod(invoice_pdf)
    list_display = ["number", "issued_at", "client", "company", "kind", "status", "total",
                    "currency", "pdf"]
    list_filter = ["status", "kind", "company", "issued_at"]
    search_fields = ["number", "client__name", "payer_snapshot"]
    list_select_related = ["client", "company"]
    inlines = [InvoiceLineInline]
    actions = ["cancel"]
    date_hierarchy = "issued_at"

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in Invoice._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Cancel (unpaid invoices only)", permissions=["change"])
    def cancel(self, request, queryset):
        for invoice in queryset.filter(status=InvoiceStatus.NEW):
            try:
                invoice_cancel(invoice=invoice, reason=_("Cancelled by the provider."))
            except InvoiceError as error:
                self.message_user(request, str(error), messages.ERROR)
            else:
                self.log_change(request, invoice, "Cancelled")


@admin.register(CreditNote)
class CreditNoteAdmin(DocumentPdfMixin, ReadOnlyStaffAdmin):
    render_pdf = staticmethod(credit_note_pdf)
    list_display = ["number", "issued_at", "invoice", "client", "reason", "total", "currency",
                    "pdf"]
    search_fields = ["number", "invoice__number", "client__name"]
    list_select_related = ["invoice", "client"]


class ClosingLineInline(admin.TabularInline):
    model = ClosingDocumentLine
    fields = ["description", "quantity", "period_start", "period_end", "net", "tax_rate",
              "tax", "gross"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(ClosingDocument)
class ClosingDocumentAdmin(DocumentPdfMixin, ReadOnlyStaffAdmin):
    """The monthly closing documents, issued by the billing clock on the 1st."""

    render_pdf = staticmethod(closing_pdf)
    list_display = ["number", "period_start", "client", "company", "subtotal", "tax_total",
                    "total", "currency", "pdf"]
    list_filter = ["company", "period_start"]
    search_fields = ["number", "client__name"]
    list_select_related = ["client", "company"]
    date_hierarchy = "period_start"
    inlines = [ClosingLineInline]


@admin.register(TaxRate)
class TaxRateAdmin(StaffModelAdmin):
    list_display = ["company", "country", "name", "rate"]
    list_filter = ["company"]


class DocumentTemplateForm(forms.ModelForm):
    class Meta:
        model = DocumentTemplate
        fields = ["kind", "company", "body"]
        widgets = {"body": forms.Textarea(attrs={"rows": 40, "cols": 120,
                                                 "style": "font-family: monospace"})}


@admin.register(DocumentTemplate)
class DocumentTemplateAdmin(StaffModelAdmin):
    """Document templates are code that renders for every client: administrators only."""

    form = DocumentTemplateForm
    list_display = ["kind", "company", "updated_at"]

    def get_changeform_initial_data(self, request):
        kind = request.GET.get("kind")
        if kind not in DocumentTemplate.Kind.values:
            kind = DocumentTemplate.Kind.INVOICE
        return {"body": default_template(kind), "kind": kind}

    def has_module_permission(self, request):
        return request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser


@admin.register(GroupDiscount)
class GroupDiscountAdmin(StaffModelAdmin):
    list_display = ["name", "group", "percent", "valid_from", "valid_until"]
    filter_horizontal = ["plans"]


@admin.register(PromisedPayment)
class PromisedPaymentAdmin(ReadOnlyStaffAdmin):
    list_display = ["id", "client", "amount", "currency", "created_at", "due_on", "repaid"]
    list_filter = [("repaid_transaction", admin.EmptyFieldListFilter)]
    search_fields = ["=id", "client__name", "client__email"]
    list_select_related = ["client"]
    readonly_fields = ["client", "amount", "currency", "created_at", "due_on",
                       "credit_transaction", "repaid_transaction", "created_by"]

    @admin.display(description="taken back", boolean=True)
    def repaid(self, obj):
        return obj.repaid_transaction_id is not None
from billing import admin_rates  # noqa: E402,F401  (issue 15: currencies and rates)
