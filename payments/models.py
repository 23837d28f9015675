"""Payment methods per company, payments with their own state machine, saved payment
methods (gateway tokens only), webhook events and refunds."""

from __future__ import annotations

import secrets
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from djmoney.models.fields import CurrencyField
from djmoney.money import Money

from accounts.models import Client, Company
from billing.models import CreditNote, Invoice, Transaction, amount_field
from core.encryption import EncryptedTextField
from core.money import AMOUNT_CEILING, round_money


class Gateway(models.TextChoices):
    BANK_TRANSFER = "bank_transfer", "Bank transfer"
    SANDBOX = "sandbox", "Sandbox (test payments)"
    STRIPE = "stripe", "Stripe"


class PaymentMethod(models.Model):
    """How clients of a company may pay: a gateway with its limits, fee and uses."""

    company = models.ForeignKey(Company, on_delete=models.PROTECT, related_name="payment_methods")
    name = models.CharField(max_length=120, help_text="Shown to clients, e.g. 'Card'.")
    gateway = models.CharField(max_length=20, choices=Gateway.choices)
    currency = CurrencyField()
    minimum = amount_field(default=Decimal("1.00"))
    maximum = amount_field(default=Decimal("10000.00"),
                           help_text=_("The largest payment this method takes (at most "
                                       "1,000,000,000)."))
    fee_percent = models.DecimalField(max_digits=5, decimal_places=2, default=Decimal(0),
                                      help_text="Added to the amount the client pays.")
    fee_fixed = amount_field(default=Decimal(0))
    for_topup = models.BooleanField("for adding funds", default=True)
    for_direct_payment = models.BooleanField("for paying services directly", default=True)
    can_save = models.BooleanField("client may save it", default=False)
    is_enabled = models.BooleanField(default=True)
    settings = models.JSONField(
        default=dict, blank=True,
        help_text=_("Options of the gateway (no secrets: those have fields of their own)."))
    # Encrypted at rest, never shown back: staff only set or replace them.
    secret_key = EncryptedTextField(_("gateway secret key"))
    webhook_secret = EncryptedTextField(
        _("webhook signing secret"),
        help_text=_("Sandbox: derived from the site's secret key when not set."))
    # Set by PostgreSQL whenever a secret changes (payments/0003), so the history of
    # changes says who replaced a secret, and when, without holding it.
    secrets_changed_at = models.DateTimeField(_("secrets last changed"), null=True,
                                              blank=True, editable=False)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["company", "position", "name"]
        constraints = [
            models.CheckConstraint(condition=Q(minimum__gt=0) & Q(maximum__gte=models.F(
                "minimum")) & Q(maximum__lte=AMOUNT_CEILING), name="method_limits_in_range"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.currency})"

    def fee_for(self, amount: Money) -> Money:
        return round_money(amount * (self.fee_percent / 100) + Money(self.fee_fixed,
                                                                     self.currency))


class PaymentStatus(models.TextChoices):
    NEW = "new", "New"
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    UNKNOWN = "unknown", "Unknown (waiting for the gateway)"
    PARTIALLY_REFUNDED = "partially_refunded", "Partially refunded"
    REFUNDED = "refunded", "Refunded"


# A payment the gateway has not finished with: at most one of these per invoice.
OPEN_STATUSES = (PaymentStatus.NEW, PaymentStatus.PENDING, PaymentStatus.UNKNOWN)
# A payment whose money arrived (some of it may have been refunded since).
CAPTURED_STATUSES = (PaymentStatus.SUCCEEDED, PaymentStatus.PARTIALLY_REFUNDED,
                     PaymentStatus.REFUNDED)


class PaymentPurpose(models.TextChoices):
    TOPUP = "topup", "Adding funds"
    ORDER = "order", "Paying an order"
    AUTOPAY = "autopay", "Automatic payment"


class PaymentOutcome(models.TextChoices):
    """What became of the money once it arrived: did the payment do what it was for?"""

    NONE = "", _("Not applied yet")
    APPLIED = "applied", _("Applied to its purpose")
    ON_BALANCE = "on_balance", _("Kept on the balance")


class Payment(models.Model):
    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="payments")
    method = models.ForeignKey(PaymentMethod, on_delete=models.PROTECT, related_name="payments")
    purpose = models.CharField(max_length=10, choices=PaymentPurpose.choices,
                               default=PaymentPurpose.TOPUP)
    status = models.CharField(max_length=20, choices=PaymentStatus.choices,
                              default=PaymentStatus.NEW, db_index=True)
    amount = amount_field(help_text="Credited to the personal account.")
    fee = amount_field(default=Decimal(0), help_text="Paid on top, to the provider.")
    currency = CurrencyField()
    refunded = amount_field(default=Decimal(0))
    # What the payment pays: its advance-payment invoice (adding funds), or the invoice
    # of the order it pays. Set before the gateway is called.
    invoice = models.ForeignKey(Invoice, null=True, blank=True, on_delete=models.PROTECT,
                                related_name="payments")
    from_balance = amount_field(default=Decimal(0),
                                help_text="The part of the invoice the client chose to pay "
                                          "from the personal account.")
    outcome = models.CharField(max_length=12, choices=PaymentOutcome.choices, blank=True,
                               default=PaymentOutcome.NONE)
    outcome_note = models.CharField(max_length=255, blank=True)
    credit_transaction = models.OneToOneField(Transaction, null=True, blank=True,
                                              on_delete=models.PROTECT, related_name="payment")
    saved_method = models.ForeignKey("SavedPaymentMethod", null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="payments")
    save_method = models.BooleanField(default=False, help_text="The client asked to save it.")
    gateway_reference = models.CharField(max_length=200, blank=True, db_index=True)
    idempotency_key = models.CharField(max_length=200)
    return_token = models.CharField(max_length=64, default=secrets.token_urlsafe, editable=False)
    failure_reason = models.CharField(max_length=255, blank=True)
    details = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    succeeded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [("record_payment", _("Can record a payment received outside a gateway"))]
        constraints = [
            models.UniqueConstraint(fields=["client", "idempotency_key"],
                                    name="payment_idempotency_key_unique"),
            # Two tabs paying one order (or one invoice) meet here: one attempt at a time.
            models.UniqueConstraint(fields=["invoice"],
                                    condition=Q(status__in=OPEN_STATUSES),
                                    name="one_open_payment_per_invoice"),
            models.CheckConstraint(condition=Q(amount__gt=0) & Q(amount__lte=AMOUNT_CEILING),
                                   name="payment_amount_positive"),
            # A payment recorded by staff (payments.manual): one per reference of a method,
            # whichever client it was recorded for.
            models.UniqueConstraint(fields=["method", "idempotency_key"],
                                    condition=Q(idempotency_key__startswith="manual:"),
                                    name="manual_payment_reference_unique"),
            models.CheckConstraint(condition=Q(from_balance__gte=0),
                                   name="payment_from_balance_not_negative"),
            models.CheckConstraint(condition=Q(refunded__gte=0) & Q(refunded__lte=models.F(
                "amount") + models.F("fee")), name="payment_refunded_within_amount"),
        ]

    def __str__(self) -> str:
        return f"Payment #{self.pk} {self.amount} {self.currency} ({self.status})"

    @property
    def amount_money(self) -> Money:
        return Money(self.amount, self.currency)

    @property
    def fee_money(self) -> Money:
        return Money(self.fee, self.currency)

    @property
    def charged_money(self) -> Money:
        """What the client pays the gateway: the amount plus the fee."""
        return Money(self.amount + self.fee, self.currency)

    @property
    def refunded_money(self) -> Money:
        return Money(self.refunded, self.currency)

    @property
    def from_balance_money(self) -> Money:
        return Money(self.from_balance, self.currency)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def is_captured(self) -> bool:
        return self.status in CAPTURED_STATUSES


class PaymentEvent(models.Model):
    """The payment's history: every status change and what caused it."""

    payment = models.ForeignKey(Payment, on_delete=models.CASCADE, related_name="events")
    created_at = models.DateTimeField(default=timezone.now)
    from_status = models.CharField(max_length=20, choices=PaymentStatus.choices, blank=True)
    to_status = models.CharField(max_length=20, choices=PaymentStatus.choices)
    source = models.CharField(max_length=40, help_text="return, webhook, staff, query, ...")
    note = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.payment_id}: {self.from_status} → {self.to_status} ({self.source})"


class SavedPaymentMethod(models.Model):
    """A card or e-wallet saved at the gateway. Only the gateway's token is kept."""

    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="saved_methods")
    method = models.ForeignKey(PaymentMethod, on_delete=models.PROTECT, related_name="saved")
    token = models.CharField(max_length=200, help_text="The gateway's payment method id.")
    customer_reference = models.CharField(max_length=200, blank=True)
    label = models.CharField(max_length=120, help_text="e.g. 'Visa •••• 4242'.")
    expires = models.CharField(max_length=7, blank=True, help_text="MM/YYYY")
    is_default = models.BooleanField(default=False)
    autopay = models.BooleanField(default=True, help_text="May pay renewals automatically.")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-is_default", "-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["client"], condition=Q(is_default=True,
                                                                   is_active=True),
                                    name="one_default_saved_method"),
            models.UniqueConstraint(fields=["method", "token"], name="saved_method_token_unique"),
        ]

    def __str__(self) -> str:
        return self.label


class WebhookEvent(models.Model):
    """A webhook as received, stored by the gateway's event id before it is handled:
    a duplicate or a replay hits the unique constraint and changes nothing."""

    gateway = models.CharField(max_length=20, choices=Gateway.choices)
    event_id = models.CharField(max_length=200)
    event_type = models.CharField(max_length=100)
    payload = models.JSONField()
    received_at = models.DateTimeField(default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True)
    payment = models.ForeignKey(Payment, null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="webhook_events")
    result = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["gateway", "event_id"], name="webhook_event_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.gateway} {self.event_type} {self.event_id}"


class Refund(models.Model):
    """Money going back to where a payment came from. Recorded (Pending, its amount held
    on the balance) before the gateway is asked; the balance is debited only when the
    gateway confirms (Succeeded); a refusal releases the hold (Failed)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for the gateway")
        SUCCEEDED = "succeeded", _("Refunded")
        FAILED = "failed", _("Refused")

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    amount = amount_field()
    currency = CurrencyField()
    reason = models.CharField(max_length=255)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    gateway_reference = models.CharField(max_length=200, blank=True)
    transaction = models.OneToOneField(Transaction, null=True, blank=True,
                                       on_delete=models.PROTECT, related_name="refund")
    credit_note = models.OneToOneField(CreditNote, null=True, blank=True,
                                       on_delete=models.PROTECT, related_name="refund")
    idempotency_key = models.CharField(max_length=200, unique=True)
    error = models.CharField(max_length=255, blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    attempts = models.PositiveSmallIntegerField(default=0,
                                                help_text="Times the gateway was asked.")
    asked_at = models.DateTimeField(null=True, blank=True)
    settled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"Refund {self.amount} {self.currency} of payment #{self.payment_id}"

    @property
    def hold_key(self) -> str:
        return f"refund:{self.pk}"

    @property
    def money(self) -> Money:
        return Money(self.amount, self.currency)


class SandboxTransaction(models.Model):
    """The sandbox gateway's own side of a payment: what a real gateway keeps on its
    servers. Our Payment learns about it only through returns, queries and webhooks."""

    class Status(models.TextChoices):
        REQUIRES_ACTION = "requires_action", "Waiting for the payer"
        PROCESSING = "processing", "Processing"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    reference = models.CharField(max_length=64, unique=True)
    method = models.ForeignKey(PaymentMethod, on_delete=models.PROTECT, related_name="+")
    amount = amount_field()
    currency = CurrencyField()
    description = models.CharField(max_length=255)
    status = models.CharField(max_length=20, choices=Status.choices,
                              default=Status.REQUIRES_ACTION)
    refunded = amount_field(default=Decimal(0))
    offer_to_save = models.BooleanField(default=False)
    card_token = models.CharField(max_length=64, blank=True)
    return_url = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.reference


class SandboxRefund(models.Model):
    """The sandbox gateway's own record of a refund, unique by the idempotency key we send,
    as a real gateway keeps it: asking twice with one key refunds once."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Succeeded"

    reference = models.CharField(max_length=64, unique=True)
    sandbox_transaction = models.ForeignKey(SandboxTransaction, on_delete=models.PROTECT,
                                            related_name="refunds")
    amount = amount_field()
    currency = CurrencyField()
    idempotency_key = models.CharField(max_length=200, unique=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.SUCCEEDED)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.reference
