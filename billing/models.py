"""The money core: a double-entry ledger, charges (expenses), invoices, credit notes,
tax rates and document templates.

The ledger's rules are enforced inside PostgreSQL by the triggers of migration 0002:
entries and transactions are append-only, every transaction's entries sum to zero per
currency, a transaction has entries, and a personal account's stored balance moves
only with its entries.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django_countries.fields import CountryField
from djmoney.models.fields import CurrencyField
from djmoney.money import Money

from accounts.models import Client, ClientGroup, Company, Payer
from core.money import STORAGE_DECIMAL_PLACES, STORAGE_MAX_DIGITS
from services.models import Service, TariffPlan


def amount_field(**kwargs) -> models.DecimalField:
    kwargs.setdefault("max_digits", STORAGE_MAX_DIGITS)
    kwargs.setdefault("decimal_places", STORAGE_DECIMAL_PLACES)
    return models.DecimalField(**kwargs)


# Ledger --------------------------------------------------------------------------------
class AccountKind(models.TextChoices):
    CLIENT = "client", "Personal account of a client"
    REVENUE = "revenue", "Revenue"
    GATEWAY_CLEARING = "clearing", "Gateway clearing"
    TAX_PAYABLE = "tax", "Taxes payable"
    DISCOUNTS = "discounts", "Discounts given"
    REFUNDS = "refunds", "Refunds"
    FEES = "fees", "Payment fees"
    ADJUSTMENTS = "adjustments", "Manual adjustments"
    PROMISED = "promised", "Promised payments granted"


class LedgerAccount(models.Model):
    """An account of the ledger. A client's personal account stores its balance, kept
    equal to the sum of its entries by the database itself; the provider's own accounts
    (revenue per company, clearing per payment method, ...) do not, so that no charge
    ever waits for a lock on them."""

    code = models.CharField(max_length=120, unique=True)
    kind = models.CharField(max_length=12, choices=AccountKind.choices)
    name = models.CharField(max_length=200)
    currency = CurrencyField()
    client = models.OneToOneField(Client, null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="personal_account")
    company = models.ForeignKey(Company, null=True, blank=True, on_delete=models.PROTECT,
                                related_name="ledger_accounts")
    balance = amount_field(default=Decimal(0), editable=False)
    credit_limit = amount_field(
        default=Decimal(0),
        help_text="How far below zero the balance may go (a positive amount).",
    )
    # Money of the balance set aside for something under way (a refund the gateway has
    # not confirmed): still the client's, not spendable. The sum of the open holds.
    held = amount_field(default=Decimal(0), editable=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["kind", "code"]
        constraints = [
            models.CheckConstraint(condition=Q(credit_limit__gte=0),
                                   name="credit_limit_not_negative"),
            models.CheckConstraint(condition=Q(held__gte=0), name="held_not_negative"),
            models.CheckConstraint(condition=Q(kind="client", client__isnull=False)
                                   | ~Q(kind="client"), name="client_account_has_client"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def balance_money(self) -> Money:
        return Money(self.balance, self.currency)

    @property
    def credit_limit_money(self) -> Money:
        return Money(self.credit_limit, self.currency)

    @property
    def held_money(self) -> Money:
        return Money(self.held, self.currency)

    @property
    def available(self) -> Money:
        """What may still be spent: the balance plus the credit limit, less what is held.
        (The daily charge's SQL in ``billing/charging.py`` says the same.)"""
        return Money(self.balance + self.credit_limit - self.held, self.currency)


class AccountHold(models.Model):
    """Money of a personal account set aside until something outside answers: a refund
    waits for the gateway with its amount held, so the client cannot spend what is on
    its way back to the card, and nothing is debited before the gateway confirms."""

    account = models.ForeignKey(LedgerAccount, on_delete=models.PROTECT, related_name="holds")
    amount = amount_field()
    currency = CurrencyField()
    reason = models.CharField(max_length=255)
    key = models.CharField(max_length=200, unique=True,
                           help_text="What the hold is for, e.g. refund:12.")
    created_at = models.DateTimeField(default=timezone.now)
    released_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="hold_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.reason}: {self.amount} {self.currency}"

    @property
    def money(self) -> Money:
        return Money(self.amount, self.currency)


class TransactionKind(models.TextChoices):
    TOPUP = "topup", "Payment received"
    CHARGE = "charge", "Charge"
    REFUND = "refund", "Refund"
    REVERSAL = "reversal", "Reversal"
    ADJUSTMENT = "adjustment", "Manual adjustment"
    PROMISED = "promised", "Promised payment"


class Transaction(models.Model):
    """Two or more entries that sum to zero per currency. Never changed or deleted: a
    mistake is corrected by a reversing transaction."""

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    kind = models.CharField(max_length=12, choices=TransactionKind.choices)
    description = models.CharField(max_length=255)
    idempotency_key = models.CharField(max_length=200, unique=True)
    client = models.ForeignKey(Client, null=True, blank=True, on_delete=models.PROTECT,
                               related_name="ledger_transactions")
    reverses = models.OneToOneField("self", null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="reversed_by")
    # The user is not a foreign key with a constraint: users come and go, the ledger
    # stays as written. The label keeps who it was.
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                              on_delete=models.DO_NOTHING, related_name="+", db_constraint=False)
    actor_label = models.CharField(max_length=254, default="system")
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["client", "created_at"])]

    def __str__(self) -> str:
        return f"#{self.pk} {self.description}"


class Entry(models.Model):
    """One leg of a transaction: a signed amount on one account, in its currency."""

    transaction = models.ForeignKey(Transaction, on_delete=models.PROTECT,
                                    related_name="entries")
    account = models.ForeignKey(LedgerAccount, on_delete=models.PROTECT, related_name="entries")
    amount = amount_field()
    currency = CurrencyField()

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "entries"
        constraints = [
            models.CheckConstraint(condition=~Q(amount=0), name="entry_amount_not_zero"),
        ]

    def __str__(self) -> str:
        return f"{self.account}: {self.amount} {self.currency}"

    @property
    def money(self) -> Money:
        return Money(self.amount, self.currency)


# Charges (the client's expenses) -------------------------------------------------------------
class ChargeKind(models.TextChoices):
    ORDER = "order", "Order"
    RENEWAL = "renewal", "Renewal"
    DAILY = "daily", "Daily charge"
    CHANGE = "change", "Configuration change"
    OVERAGE = "overage", "Overage"
    MANUAL = "manual", "Manual debit"
    REFUND = "refund", "Refund to the payment method"
    REVERSAL = "reversal", "Reversal of a credit"


class Charge(models.Model):
    """A debit of a personal account, with what it paid for and how it was derived.

    The billing clock writes one of these per daily service per day, so the table carries
    only the indexes its readers use (a client's expenses by date, a service's charges,
    the one-a-day key); keys and invoices are indexed only where they are set.
    """

    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="charges",
                               db_index=False)
    service = models.ForeignKey(Service, null=True, blank=True, on_delete=models.PROTECT,
                                related_name="charges")
    kind = models.CharField(max_length=10, choices=ChargeKind.choices)
    description = models.CharField(max_length=255)
    period_start = models.DateField(null=True, blank=True)
    period_end = models.DateField(null=True, blank=True)
    amount = amount_field(help_text="What the balance was debited: net and tax.")
    # The tax in the amount and its rate, as data: documents and the audit read them.
    tax = amount_field(default=Decimal(0))
    tax_rate = models.DecimalField(max_digits=6, decimal_places=4, default=Decimal(0))
    currency = CurrencyField()
    # Transactions are never deleted and nothing reads charges by transaction.
    transaction = models.ForeignKey(Transaction, on_delete=models.PROTECT, related_name="charges",
                                    db_index=False)
    invoice = models.ForeignKey("Invoice", null=True, blank=True, on_delete=models.PROTECT,
                                related_name="charges", db_index=False)
    # How the amount was derived (tariff, period, days, quantity, discount, rounding).
    derivation = models.JSONField(default=dict, blank=True)
    # Daily charges have none (NULL, outside the unique key): they are unique by (service,
    # day) instead, which the billing clock's set-based insert can check cheaply.
    idempotency_key = models.CharField(max_length=200, null=True, blank=True)  # noqa: DJ001
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["client", "created_at"]),
            models.Index(fields=["invoice"], condition=Q(invoice__isnull=False),
                         name="charge_invoice_set"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["service", "period_start"],
                                    condition=Q(kind="daily"),
                                    name="one_daily_charge_per_service_day"),
            # A period is renewed once, however it is paid (the clock's batch, an order of
            # the cart, a card's autopay): the backstop of every renewal path.
            models.UniqueConstraint(fields=["service", "period_start"],
                                    condition=Q(kind="renewal"),
                                    name="one_renewal_per_service_period"),
            models.UniqueConstraint(fields=["idempotency_key"],
                                    condition=Q(idempotency_key__isnull=False),
                                    name="one_charge_per_key"),
            models.CheckConstraint(condition=Q(kind="daily") | Q(idempotency_key__isnull=False),
                                   name="charge_has_a_key"),
        ]

    def __str__(self) -> str:
        return f"{self.description}: {self.amount} {self.currency}"

    @property
    def money(self) -> Money:
        return Money(self.amount, self.currency)

    @property
    def net(self) -> Decimal:
        return self.amount - self.tax


# Discounts ---------------------------------------------------------------------------------
class GroupDiscount(models.Model):
    """A percentage off for the clients of a group, on some plans or product types."""

    group = models.ForeignKey(ClientGroup, on_delete=models.CASCADE, related_name="discounts")
    name = models.CharField(max_length=120)
    percent = models.DecimalField(max_digits=5, decimal_places=2)
    plans = models.ManyToManyField(TariffPlan, blank=True, related_name="group_discounts")
    product_types = models.JSONField(default=list, blank=True)
    valid_from = models.DateTimeField(null=True, blank=True)
    valid_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["group", "name"]
        constraints = [
            models.CheckConstraint(condition=Q(percent__gt=0) & Q(percent__lte=100),
                                   name="group_discount_percent_range"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.percent} %)"


# Taxes and documents --------------------------------------------------------------------
class TaxRate(models.Model):
    """The VAT (or sales tax) rate a company charges payers of one country; an empty
    country is the company's default."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="tax_rates")
    country = CountryField(blank=True)
    name = models.CharField(max_length=40, default="VAT")
    rate = models.DecimalField(max_digits=6, decimal_places=4,
                               help_text="0.2000 for 20 %.")

    class Meta:
        ordering = ["company", "country"]
        constraints = [
            models.UniqueConstraint(fields=["company", "country"], name="tax_rate_unique"),
            models.CheckConstraint(condition=Q(rate__gte=0) & Q(rate__lt=1),
                                   name="tax_rate_range"),
        ]

    def __str__(self) -> str:
        return f"{self.company} {self.country or 'default'} {self.rate:%}"


class InvoiceStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    NEW = "new", "New"
    PAID = "paid", "Paid"
    CANCELLED = "cancelled", "Cancelled"


class InvoiceKind(models.TextChoices):
    ADVANCE_PAYMENT = "advance", "Advance payment"
    SERVICES = "services", "Services"


class TaxTreatmentCode(models.TextChoices):
    STANDARD = "standard", "Standard rate"
    REVERSE_CHARGE = "reverse_charge", "Reverse charge"
    NONE = "none", "No tax"


class DocumentTotals:
    """The totals of a document (invoice, credit note, closing document) as Money."""

    @property
    def subtotal_money(self) -> Money:
        return Money(self.subtotal, self.currency)

    @property
    def tax_money(self) -> Money:
        return Money(self.tax_total, self.currency)

    @property
    def total_money(self) -> Money:
        return Money(self.total, self.currency)


class Invoice(DocumentTotals, models.Model):
    """An invoice issued by a company to a client's payer. Once issued it never changes
    (the database refuses): it keeps snapshots of both parties as they were, and a
    correction is a credit note."""

    company = models.ForeignKey(Company, on_delete=models.PROTECT, related_name="invoices")
    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="invoices")
    payer = models.ForeignKey(Payer, null=True, blank=True, on_delete=models.PROTECT,
                              related_name="invoices")
    kind = models.CharField(max_length=10, choices=InvoiceKind.choices)
    number = models.CharField(max_length=40, null=True, blank=True, unique=True)
    status = models.CharField(max_length=10, choices=InvoiceStatus.choices,
                              default=InvoiceStatus.DRAFT)
    currency = CurrencyField()
    subtotal = amount_field(default=Decimal(0))
    tax_total = amount_field(default=Decimal(0))
    total = amount_field(default=Decimal(0))
    tax_treatment = models.CharField(max_length=20, choices=TaxTreatmentCode.choices,
                                     default=TaxTreatmentCode.NONE)
    tax_name = models.CharField(max_length=40, blank=True)
    tax_rate = models.DecimalField(max_digits=6, decimal_places=4, default=Decimal(0))
    tax_note = models.CharField(max_length=255, blank=True)
    company_snapshot = models.JSONField(default=dict)
    payer_snapshot = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)
    issued_at = models.DateTimeField(null=True, blank=True)
    due_on = models.DateField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    status_note = models.CharField(max_length=255, blank=True,
                                   help_text="Why it was cancelled, for the client to read.")
    payment_transaction = models.ForeignKey(Transaction, null=True, blank=True,
                                            on_delete=models.PROTECT, related_name="paid_invoices")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["client", "created_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(status="draft") | Q(number__isnull=False, issued_at__isnull=False),
                name="issued_invoice_has_number"),
            models.CheckConstraint(
                condition=~Q(status="paid") | Q(payment_transaction__isnull=False,
                                                paid_at__isnull=False),
                name="paid_invoice_has_payment"),
        ]

    def __str__(self) -> str:
        return self.number or f"Draft #{self.pk}"



class InvoiceLine(models.Model):
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="lines")
    position = models.PositiveSmallIntegerField(default=0)
    description = models.CharField(max_length=255)
    service = models.ForeignKey(Service, null=True, blank=True, on_delete=models.PROTECT,
                                related_name="invoice_lines")
    period_start = models.DateField(null=True, blank=True)
    period_end = models.DateField(null=True, blank=True)
    quantity = models.DecimalField(max_digits=14, decimal_places=3, default=Decimal(1))
    unit_price = amount_field()
    net = amount_field()
    tax = amount_field(default=Decimal(0))
    gross = amount_field()

    class Meta:
        ordering = ["invoice", "position", "id"]

    def __str__(self) -> str:
        return self.description


class CreditNote(DocumentTotals, models.Model):
    """A correction of an issued invoice (a refund, a downgrade), with its own gapless
    series per company and year."""

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="credit_notes")
    company = models.ForeignKey(Company, on_delete=models.PROTECT, related_name="credit_notes")
    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="credit_notes")
    number = models.CharField(max_length=40, unique=True)
    reason = models.CharField(max_length=255)
    currency = CurrencyField()
    subtotal = amount_field()
    tax_total = amount_field()
    total = amount_field()
    tax_rate = models.DecimalField(max_digits=6, decimal_places=4, default=Decimal(0))
    company_snapshot = models.JSONField(default=dict)
    payer_snapshot = models.JSONField(default=dict)
    issued_at = models.DateTimeField(default=timezone.now)
    transaction = models.ForeignKey(Transaction, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="credit_notes")

    class Meta:
        ordering = ["-issued_at", "-id"]

    def __str__(self) -> str:
        return self.number



class CreditNoteLine(models.Model):
    credit_note = models.ForeignKey(CreditNote, on_delete=models.PROTECT, related_name="lines")
    position = models.PositiveSmallIntegerField(default=0)
    description = models.CharField(max_length=255)
    net = amount_field()
    tax = amount_field(default=Decimal(0))
    gross = amount_field()

    class Meta:
        ordering = ["credit_note", "position", "id"]

    def __str__(self) -> str:
        return self.description


class ClosingDocument(DocumentTotals, models.Model):
    """A month's closing document (an act of completion, a monthly statement) of one
    client and company: what the client was charged day by day and for overages that
    month, with their tax, in its own gapless series per company and year. Exactly one
    per client, company and month; issued by the billing clock on the 1st, never changed
    (the database refuses)."""

    company = models.ForeignKey(Company, on_delete=models.PROTECT,
                                related_name="closing_documents")
    client = models.ForeignKey(Client, on_delete=models.PROTECT,
                               related_name="closing_documents")
    payer = models.ForeignKey(Payer, null=True, blank=True, on_delete=models.PROTECT,
                              related_name="closing_documents")
    number = models.CharField(max_length=40, unique=True)
    period_start = models.DateField(help_text="The first day of the month.")
    period_end = models.DateField(help_text="The first day of the next month.")
    currency = CurrencyField()
    subtotal = amount_field()
    tax_total = amount_field()
    total = amount_field()
    tax_note = models.CharField(max_length=255, blank=True)
    company_snapshot = models.JSONField(default=dict)
    payer_snapshot = models.JSONField(default=dict)
    issued_at = models.DateTimeField()

    class Meta:
        ordering = ["-period_start", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["client", "company", "period_start"],
                                    name="one_closing_document_per_month"),
        ]

    def __str__(self) -> str:
        return self.number


    @property
    def last_day(self):
        from datetime import timedelta

        return self.period_end - timedelta(days=1)


class ClosingDocumentLine(models.Model):
    """One service's charges of a kind (daily, overage) at one tax rate in the month."""

    document = models.ForeignKey(ClosingDocument, on_delete=models.PROTECT,
                                 related_name="lines")
    position = models.PositiveIntegerField(default=0)
    service = models.ForeignKey(Service, null=True, blank=True, on_delete=models.PROTECT,
                                related_name="closing_lines")
    kind = models.CharField(max_length=10)
    description = models.CharField(max_length=255)
    quantity = models.PositiveIntegerField(help_text="Charges (days) in the line.")
    period_start = models.DateField(help_text="The first day charged.")
    period_end = models.DateField(help_text="The last day charged.")
    net = amount_field()
    tax_rate = models.DecimalField(max_digits=6, decimal_places=4, default=Decimal(0))
    tax = amount_field(default=Decimal(0))
    gross = amount_field()

    class Meta:
        ordering = ["document", "position", "id"]

    def __str__(self) -> str:
        return self.description


class DocumentTemplate(models.Model):
    """The HTML (Django template) of an invoice, a credit note or a closing document,
    editable by staff; the page and the PDF are rendered from it. A company's own
    template wins over the default one (no company)."""

    class Kind(models.TextChoices):
        INVOICE = "invoice", "Invoice"
        CREDIT_NOTE = "credit_note", "Credit note"
        CLOSING = "closing", "Closing document"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    company = models.ForeignKey(Company, null=True, blank=True, on_delete=models.CASCADE,
                                related_name="document_templates")
    body = models.TextField(help_text="A Django template. Context: document, lines, company, "
                                      "payer, client.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["kind", "company"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "company"], name="document_template_unique",
                                    nulls_distinct=False),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.company or 'default'})"


class PromisedPayment(models.Model):
    """Temporary credit a client takes to keep services running until a payment arrives:
    credited to the balance now, taken back on ``due_on``."""

    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="promised_payments")
    amount = amount_field()
    currency = CurrencyField()
    created_at = models.DateTimeField(default=timezone.now)
    due_on = models.DateField()
    credit_transaction = models.OneToOneField(Transaction, on_delete=models.PROTECT,
                                              related_name="promised_payment")
    repaid_transaction = models.OneToOneField(Transaction, null=True, blank=True,
                                              on_delete=models.PROTECT, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Promised {self.amount} {self.currency} by {self.client} until {self.due_on}"

    @property
    def money(self) -> Money:
        return Money(self.amount, self.currency)


# Currencies and exchange rates (issue 15, Directory -> Currencies). Rates are for showing
# report totals in a chosen currency; balances and charges stay in their own currency.
class Currency(models.Model):
    """A currency staff may pick for reports. The minor unit is ISO 4217's (from py-moneyed,
    the table core.money rounds by): shown here, never a second rounding rule."""

    code = models.CharField(max_length=3, primary_key=True)
    name = models.CharField(max_length=80)
    minor_unit = models.PositiveSmallIntegerField(editable=False)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]
        verbose_name_plural = "currencies"

    def __str__(self) -> str:
        return self.code


class RateSource(models.TextChoices):
    STAFF = "staff", "Entered by staff"
    FILE = "file", "Imported from a file"


# A rate carries 10 decimal places: 1 JPY = 0.0000623456 BTC-like tiny rates keep 6
# significant digits, and 14 integer digits hold 1 USD = 95,000,000 VND-like huge ones.
RATE_MAX_DIGITS = 24
RATE_DECIMAL_PLACES = 10


class ExchangeRate(models.Model):
    """1 ``base`` = ``rate`` ``quote`` from ``valid_on`` until the pair's next rate."""

    base = models.ForeignKey(Currency, on_delete=models.PROTECT, related_name="+")
    quote = models.ForeignKey(Currency, on_delete=models.PROTECT, related_name="+")
    rate = models.DecimalField(max_digits=RATE_MAX_DIGITS, decimal_places=RATE_DECIMAL_PLACES)
    valid_on = models.DateField()
    source = models.CharField(max_length=8, choices=RateSource.choices,
                              default=RateSource.STAFF)
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-valid_on", "base", "quote"]
        constraints = [
            # Its index also answers rate_on's "latest on or before" (scanned backwards).
            models.UniqueConstraint(fields=["base", "quote", "valid_on"],
                                    name="exchange_rate_one_per_pair_day"),
            models.CheckConstraint(condition=Q(rate__gt=0), name="exchange_rate_positive"),
            models.CheckConstraint(condition=~Q(base=models.F("quote")),
                                   name="exchange_rate_two_currencies"),
        ]

    def __str__(self) -> str:
        return f"1 {self.base_id} = {self.rate.normalize():f} {self.quote_id} on {self.valid_on}"
