"""The cart, orders, promo codes, group discounts and service agreements."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Upper
from django.utils import timezone
from djmoney.models.fields import CurrencyField
from djmoney.money import Money

from accounts.models import Client
from billing.models import Invoice, Transaction, amount_field
from payments.models import Payment
from services.models import Service, TariffPlan
from services.periods import BillingPeriod


class ItemKind(models.TextChoices):
    NEW = "new", "New service"
    RENEWAL = "renewal", "Renewal"
    CHANGE = "change", "Configuration change"
    AUTO_RENEW = "auto_renew", "Auto-renewal with its first payment"


class Cart(models.Model):
    client = models.OneToOneField(Client, on_delete=models.CASCADE, related_name="cart")
    promo_code = models.ForeignKey("PromoCode", null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Cart of {self.client}"


class CartItem(models.Model):
    """One operation on one service. The seeds' rule: the cart holds one operation per
    service, except for a stopped service, which may have two (e.g. a renewal and a
    configuration change)."""

    cart = models.ForeignKey(Cart, on_delete=models.CASCADE, related_name="items")
    kind = models.CharField(max_length=12, choices=ItemKind.choices)
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="cart_items")
    period = models.CharField(max_length=10, choices=BillingPeriod.choices, blank=True)
    new_plan = models.ForeignKey(TariffPlan, null=True, blank=True, on_delete=models.CASCADE,
                                 related_name="+")
    # Change items: addon id -> {"quantity": "...", "choice": id or null}
    addon_values = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.service}"


class CartNotice(models.Model):
    """Something the client should read on the next visit (an item removed or repriced)."""

    cart = models.ForeignKey(Cart, on_delete=models.CASCADE, related_name="notices")
    message = models.CharField(max_length=255)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.message


class OrderStatus(models.TextChoices):
    PENDING_PAYMENT = "pending", "Pending payment"
    PAID = "paid", "Paid"
    CANCELLED = "cancelled", "Cancelled"


class Order(models.Model):
    """What a checkout bought: paid at once from the balance, or pending until a
    payment for the missing amount succeeds."""

    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="orders")
    status = models.CharField(max_length=10, choices=OrderStatus.choices,
                              default=OrderStatus.PENDING_PAYMENT, db_index=True)
    currency = CurrencyField()
    net = amount_field()
    tax = amount_field()
    total = amount_field()
    discount = amount_field(default=Decimal(0))
    promo_code = models.ForeignKey("PromoCode", null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="orders")
    quote = models.JSONField(default=dict, help_text="The priced lines as the client saw them.")
    idempotency_key = models.CharField(max_length=64)
    invoice = models.OneToOneField(Invoice, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="order")
    transaction = models.OneToOneField(Transaction, null=True, blank=True,
                                       on_delete=models.PROTECT, related_name="order")
    payment = models.ForeignKey(Payment, null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="orders")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    paid_at = models.DateTimeField(null=True, blank=True)
    note = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["client", "idempotency_key"],
                                    name="order_idempotency_key_unique"),
        ]

    def __str__(self) -> str:
        return f"Order #{self.pk}"

    @property
    def total_money(self) -> Money:
        return Money(self.total, self.currency)


class OrderItem(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="items")
    kind = models.CharField(max_length=12, choices=ItemKind.choices)
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="order_items")
    description = models.CharField(max_length=255)
    period = models.CharField(max_length=10, choices=BillingPeriod.choices, blank=True)
    period_start = models.DateField(null=True, blank=True)
    period_end = models.DateField(null=True, blank=True)
    new_plan = models.ForeignKey(TariffPlan, null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="+")
    addon_values = models.JSONField(default=dict, blank=True)
    net = amount_field()
    # The item's tax as the order's quote computed it: its invoice and its debit (or its
    # credit note) read this figure, never compute it again.
    tax = amount_field(default=Decimal(0))
    # What the item leaves its service's paid period costing (see PeriodCost), written to
    # the period when the order is paid: none for items outside a paid period.
    cost_period_start = models.DateField(null=True, blank=True)
    cost_owed_numerator = models.DecimalField(max_digits=40, decimal_places=0, null=True,
                                              blank=True)
    cost_owed_denominator = models.DecimalField(max_digits=40, decimal_places=0, null=True,
                                                blank=True)
    cost_charged = amount_field(null=True, blank=True)
    discount = amount_field(default=Decimal(0))
    derivation = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["order", "id"]

    def __str__(self) -> str:
        return self.description

    @property
    def gross(self) -> Decimal:
        return self.net + self.tax


class PeriodCost(models.Model):
    """What a service's paid period costs so far, exactly (a fraction), and what was
    charged for it (net, before discounts): the state a configuration change prorates
    from (billing.calculators.prorate). One per service and period, written when an order
    that pays the period, or changes it, is paid."""

    # Indexed by the unique (service, period_start) below.
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="period_costs",
                                db_index=False)
    period_start = models.DateField()
    owed_numerator = models.DecimalField(max_digits=40, decimal_places=0)
    owed_denominator = models.DecimalField(max_digits=40, decimal_places=0)
    charged = amount_field()
    currency = CurrencyField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["service", "period_start"],
                                    name="one_cost_per_service_period"),
        ]

    def __str__(self) -> str:
        return f"{self.service_id} from {self.period_start}: {self.owed} ({self.charged})"

    @property
    def owed(self) -> Fraction:
        return Fraction(int(self.owed_numerator), int(self.owed_denominator))

    @property
    def charged_money(self) -> Money:
        return Money(self.charged, self.currency)


class PromoCode(models.Model):
    class Kind(models.TextChoices):
        PERCENT = "percent", "Percent off"
        FIXED = "fixed", "Fixed amount off"

    code = models.CharField(max_length=40)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    value = models.DecimalField(max_digits=12, decimal_places=2,
                                help_text="Percent (e.g. 15) or an amount in the currency.")
    currency = CurrencyField(blank=True, null=True, default=None, help_text="For fixed amounts.")
    plans = models.ManyToManyField(TariffPlan, blank=True, related_name="promo_codes",
                                   help_text="Empty: every plan (of the product types below).")
    product_types = models.JSONField(default=list, blank=True,
                                     help_text='Empty: all. e.g. ["vps", "hosting"].')
    first_order_only = models.BooleanField(default=False,
                                           help_text="Only a client's first paid order.")
    new_services_only = models.BooleanField(default=True,
                                            help_text="Discounts new services, not renewals.")
    valid_from = models.DateTimeField(null=True, blank=True)
    valid_until = models.DateTimeField(null=True, blank=True)
    max_uses = models.PositiveIntegerField(null=True, blank=True)
    max_uses_per_client = models.PositiveIntegerField(null=True, blank=True, default=1)
    uses = models.PositiveIntegerField(default=0, editable=False)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(Upper("code"), name="promo_code_ci_unique"),
            models.CheckConstraint(condition=Q(value__gt=0), name="promo_value_positive"),
            models.CheckConstraint(condition=Q(kind="fixed") | Q(value__lte=100),
                                   name="promo_percent_at_most_100"),
            models.CheckConstraint(condition=Q(max_uses__isnull=True) | Q(uses__lte=models.F(
                "max_uses")), name="promo_uses_within_limit"),
        ]

    def __str__(self) -> str:
        return self.code


class PromoRedemption(models.Model):
    promo = models.ForeignKey(PromoCode, on_delete=models.PROTECT, related_name="redemptions")
    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="promo_redemptions")
    order = models.OneToOneField(Order, on_delete=models.PROTECT, related_name="redemption")
    amount = amount_field()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.promo} for {self.client}"


class Agreement(models.Model):
    """A service agreement some plans require the client to accept before ordering."""

    title = models.CharField(max_length=200)
    text = models.TextField()
    version = models.PositiveIntegerField(default=1, help_text="Raise it when the text "
                                                             "changes: clients accept again.")
    plans = models.ManyToManyField(TariffPlan, blank=True, related_name="agreements")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["title"]

    def __str__(self) -> str:
        return f"{self.title} (v{self.version})"


class AgreementAcceptance(models.Model):
    agreement = models.ForeignKey(Agreement, on_delete=models.PROTECT, related_name="acceptances")
    version = models.PositiveIntegerField()
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="agreements")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                             related_name="+")
    accepted_at = models.DateTimeField(default=timezone.now)
    ip_address = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-accepted_at"]
        constraints = [
            models.UniqueConstraint(fields=["agreement", "version", "client"],
                                    name="agreement_accepted_once"),
        ]

    def __str__(self) -> str:
        return f"{self.client} accepted {self.agreement} v{self.version}"
