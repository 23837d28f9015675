"""The catalog (what a provider sells) and service instances (what a client has)."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from djmoney.models.fields import MoneyField

from accounts.models import Client, Provider
from core.money import STORAGE_DECIMAL_PLACES, STORAGE_MAX_DIGITS
from services.periods import BillingPeriod


def money_field(**kwargs) -> MoneyField:
    kwargs.setdefault("max_digits", STORAGE_MAX_DIGITS)
    kwargs.setdefault("decimal_places", STORAGE_DECIMAL_PLACES)
    kwargs.setdefault("default_currency", None)
    return MoneyField(**kwargs)


def quantity_field(**kwargs) -> models.DecimalField:
    kwargs.setdefault("max_digits", 14)
    kwargs.setdefault("decimal_places", 3)
    kwargs.setdefault("default", Decimal(0))
    return models.DecimalField(**kwargs)


# Directory ---------------------------------------------------------------------------
class ProductType(models.TextChoices):
    VIRTUAL_SERVER = "vps", "Virtual server"
    SHARED_HOSTING = "hosting", "Shared hosting"
    DOMAIN = "domain", "Domain name"
    SSL = "ssl", "SSL certificate"
    DEDICATED = "dedicated", "Dedicated server"
    DNS = "dns", "DNS hosting"
    OTHER = "other", "Other service"


# Product types whose servers can be rebooted and have IP addresses.
SERVER_TYPES = frozenset({ProductType.VIRTUAL_SERVER, ProductType.DEDICATED})


class UnitOfMeasure(models.Model):
    name = models.CharField(max_length=50, unique=True, help_text="e.g. gigabyte")
    symbol = models.CharField(max_length=12, unique=True, help_text="e.g. GB")

    class Meta:
        ordering = ["name"]
        verbose_name = "unit of measure"
        verbose_name_plural = "units of measure"

    def __str__(self) -> str:
        return self.symbol


class Enumeration(models.Model):
    """A list of choices for choice addons, e.g. the operating system images."""

    name = models.CharField(max_length=100, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class EnumerationItem(models.Model):
    enumeration = models.ForeignKey(Enumeration, on_delete=models.CASCADE, related_name="items")
    code = models.SlugField(max_length=60, help_text="Passed to the processing module.")
    label = models.CharField(max_length=120)
    position = models.PositiveSmallIntegerField(default=0)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["enumeration", "position", "label"]
        constraints = [
            models.UniqueConstraint(fields=["enumeration", "code"], name="enum_item_code_unique")
        ]

    def __str__(self) -> str:
        return self.label


class ProductGroup(models.Model):
    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="product_groups")
    name = models.CharField(max_length=120)
    product_type = models.CharField(max_length=20, choices=ProductType.choices)
    description = models.TextField(blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["provider", "position", "name"]

    def __str__(self) -> str:
        return self.name


# Tariff plans ------------------------------------------------------------------------
class Charging(models.TextChoices):
    DAILY = "daily", "Daily, from the personal account"
    PERIOD = "period", "Per period, prepaid and renewable"


class DeleteRefund(models.TextChoices):
    NONE = "none", "Nothing is refunded"
    UNUSED = "unused", "The unused part of the period is refunded"


class TariffPlan(models.Model):
    """The rules for the cost of a service: prices per period, addons, what is allowed."""

    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="plans")
    group = models.ForeignKey(ProductGroup, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="plans")
    product_type = models.CharField(max_length=20, choices=ProductType.choices)
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    module = models.CharField(
        "processing module", max_length=40, default="manual",
        help_text="What provisions the service: 'manual' (staff complete each operation) "
                  "or 'simulated' (completes by itself after a delay).",
    )
    module_settings = models.JSONField(
        default=dict, blank=True,
        help_text='For the simulated module: {"delay": 3, "capacity": 10, '
                  '"fail": ["reboot"]}.',
    )
    charging = models.CharField(max_length=10, choices=Charging.choices,
                                default=Charging.PERIOD)
    trial_days = models.PositiveSmallIntegerField(default=0)
    client_can_delete = models.BooleanField(default=True)
    delete_refund = models.CharField(max_length=10, choices=DeleteRefund.choices,
                                     default=DeleteRefund.NONE)
    downgrade_credit = models.BooleanField(
        default=True, help_text="A downgrade mid-period credits the unused difference.")
    orderable = models.BooleanField(default=True, help_text="Clients may order it.")
    is_archived = models.BooleanField(
        default=False, help_text="Archived plans cannot be ordered; existing services keep them."
    )
    grace_days = models.PositiveSmallIntegerField(
        default=7, help_text="Days a service stays suspended for non-payment before deletion."
    )
    needs_configuration = models.BooleanField(
        default=False,
        help_text="Quick order: after payment the client must fill in parameters "
                  "(Configuration required) before activation.",
    )
    instruction_manual = models.TextField(
        blank=True, help_text="Shown to the client with a paid order (licence, how to start)."
    )
    position = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["provider", "product_type", "position", "name"]

    def __str__(self) -> str:
        return self.name

    @property
    def currency(self) -> str:
        return self.provider.currency

    @property
    def is_orderable(self) -> bool:
        return self.orderable and not self.is_archived

    @property
    def is_daily(self) -> bool:
        return self.charging == Charging.DAILY


class PlanPrice(models.Model):
    plan = models.ForeignKey(TariffPlan, on_delete=models.CASCADE, related_name="prices")
    period = models.CharField(max_length=10, choices=BillingPeriod.choices)
    price = money_field()
    setup_fee = money_field(null=True, blank=True)
    renewal_price = money_field(null=True, blank=True,
                                help_text="Price of each renewal; empty means the same price.")

    class Meta:
        ordering = ["plan", "id"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "period"], name="plan_price_period_unique")
        ]

    def __str__(self) -> str:
        return f"{self.plan} / {self.get_period_display()}"

    def clean(self) -> None:
        _check_currency(self.plan, price=self.price, setup_fee=self.setup_fee,
                        renewal_price=self.renewal_price)


def _check_currency(plan: TariffPlan, **amounts) -> None:
    if not getattr(plan, "provider_id", None):
        return
    errors = {
        field: f"Prices of this plan are in {plan.currency}."
        for field, amount in amounts.items()
        if amount is not None and str(amount.currency) != plan.currency
    }
    if errors:
        raise ValidationError(errors)


# Addons ------------------------------------------------------------------------------
class AddonKind(models.TextChoices):
    QUANTITY = "quantity", "Quantity (e.g. disk GB)"
    TOGGLE = "toggle", "On/off"
    CHOICE = "choice", "Choice from an enumeration"
    METERED = "metered", "Metered (charged for overage)"


class Addon(models.Model):
    """A resource of a plan that the client can choose or that is measured."""

    plan = models.ForeignKey(TariffPlan, on_delete=models.CASCADE, related_name="addons")
    name = models.CharField(max_length=120)
    code = models.SlugField(max_length=60, help_text="Passed to the processing module.")
    kind = models.CharField(max_length=10, choices=AddonKind.choices)
    unit = models.ForeignKey(UnitOfMeasure, null=True, blank=True, on_delete=models.PROTECT)
    enumeration = models.ForeignKey(Enumeration, null=True, blank=True, on_delete=models.PROTECT)
    included = quantity_field(help_text="Amount included in the plan price.")
    minimum = quantity_field()
    maximum = quantity_field(null=True, blank=True, default=None)
    step = quantity_field(default=Decimal(1), validators=[MinValueValidator(Decimal("0.001"))])
    default_value = quantity_field(help_text="Quantity preselected in the order form.")
    overage_price = money_field(null=True, blank=True,
                                help_text="Metered addons: price per unit above the included.")
    position = models.PositiveSmallIntegerField(default=0)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["plan", "position", "name"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "code"], name="addon_code_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.plan} · {self.name}"

    def clean(self) -> None:
        errors = {}
        if self.kind == AddonKind.CHOICE and not self.enumeration_id:
            errors["enumeration"] = "A choice addon takes its choices from an enumeration."
        if self.kind == AddonKind.METERED and self.overage_price is None:
            errors["overage_price"] = "A metered addon needs a price per unit of overage."
        if self.maximum is not None and self.maximum < self.minimum:
            errors["maximum"] = "The maximum is below the minimum."
        if errors:
            raise ValidationError(errors)
        if self.plan_id:
            _check_currency(self.plan, overage_price=self.overage_price)


class AddonPrice(models.Model):
    """Price of an addon for one billing period: per unit above the included amount
    (quantity), for being on (toggle), or for one choice (choice)."""

    addon = models.ForeignKey(Addon, on_delete=models.CASCADE, related_name="prices")
    period = models.CharField(max_length=10, choices=BillingPeriod.choices)
    choice = models.ForeignKey(EnumerationItem, null=True, blank=True, on_delete=models.CASCADE)
    price = money_field()

    class Meta:
        ordering = ["addon", "id"]
        constraints = [
            models.UniqueConstraint(fields=["addon", "period", "choice"],
                                    name="addon_price_unique", nulls_distinct=False),
        ]

    def __str__(self) -> str:
        return f"{self.addon.name} / {self.get_period_display()}"

    def clean(self) -> None:
        if self.addon_id:
            _check_currency(self.addon.plan, price=self.price)


# Service instances ---------------------------------------------------------------------
class ServiceStatus(models.TextChoices):
    """The statuses a client sees, as the seeds name them."""

    ORDERED = "ordered", "Ordered"
    CONFIGURATION_REQUIRED = "configuration_required", "Configuration required"
    IN_PROGRESS = "in_progress", "In progress"
    ACTIVE = "active", "Active"
    SUSPENDED = "suspended", "Suspended"
    SUSPENDED_BY_ADMIN = "suspended_by_admin", "Suspended by administrator"
    SUSPENDED_ABUSE = "suspended_abuse", "Suspended due to abuse"
    NOT_AVAILABLE = "not_available", "Not available"
    DELETED = "deleted", "Deleted"


SUSPENDED_STATUSES = frozenset({ServiceStatus.SUSPENDED, ServiceStatus.SUSPENDED_BY_ADMIN,
                                ServiceStatus.SUSPENDED_ABUSE})

# Which statuses each paid operation takes, stated once (the cart prices them, the
# service page offers them, the module is sent them).
# A renewal extends a service that exists at the module: not one never provisioned or gone.
RENEWABLE_STATUSES = frozenset(ServiceStatus) - {
    ServiceStatus.ORDERED, ServiceStatus.DELETED, ServiceStatus.NOT_AVAILABLE,
    ServiceStatus.CONFIGURATION_REQUIRED}
# A configuration change needs a service the module can reconfigure now.
RECONFIGURABLE_STATUSES = frozenset({ServiceStatus.ACTIVE, ServiceStatus.SUSPENDED,
                                     ServiceStatus.SUSPENDED_BY_ADMIN})


class Operation(models.TextChoices):
    """What a service is 'In progress' with (the seeds' states, and configuration)."""

    ACTIVATION = "activation", "activation"
    SUSPENSION = "suspension", "suspension"
    RESUME = "resume", "resume"
    REBOOT = "reboot", "reboot"
    RENEWAL = "renewal", "renewal"
    TRANSFER = "transfer", "transfer"
    DELETION = "deletion", "deletion"
    RECONFIGURATION = "reconfiguration", "configuration change"


class SuspendReason(models.TextChoices):
    CLIENT = "client", "by the client"
    ADMIN = "admin", "by administrator"
    ABUSE = "abuse", "due to abuse"
    NONPAYMENT = "nonpayment", "for non-payment"
    EXPIRED = "expired", "expired"


class Service(models.Model):
    # No index of its own: (client, status) below serves lookups by client, and every
    # index is one more write when the clock moves a million expiries.
    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="services",
                               db_index=False)
    plan = models.ForeignKey(TariffPlan, on_delete=models.PROTECT, related_name="services")
    name = models.CharField(max_length=255)
    billing_period = models.CharField(max_length=10, choices=BillingPeriod.choices)
    status = models.CharField(max_length=30, choices=ServiceStatus.choices,
                              default=ServiceStatus.ORDERED)  # (status, expires_on) indexes it
    operation = models.CharField(max_length=20, choices=Operation.choices, blank=True,
                                 help_text="What an 'In progress' service is busy with.")
    suspend_reason = models.CharField(max_length=12, choices=SuspendReason.choices, blank=True)
    parameters = models.JSONField(default=dict, blank=True,
                                  help_text="hostname, domain, ip_addresses, nameservers, ...")
    configuration_due = models.JSONField(
        null=True, blank=True,
        help_text="A paid configuration change that came while the module was busy: sent to "
                  "it when the running operation ends.")
    auto_renew = models.BooleanField(default=False)
    expires_on = models.DateField(null=True, blank=True)
    anchor_day = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Day of the month renewals fall on.")
    unpaid_since = models.DateField(
        null=True, blank=True,
        help_text="The billing clock's day this service was stopped for debt or expiry; "
                  "its grace period counts from it.")
    suspension_hold_until = models.DateField(
        null=True, blank=True,
        help_text="Staff: no automatic suspension for debt or expiry until this day.")
    created_at = models.DateTimeField(default=timezone.now)
    activated_at = models.DateTimeField(null=True, blank=True)
    suspended_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        # Billing facts change only through these staff actions (services.billing_facts,
        # cart.staff_renewal), never by editing the service.
        permissions = [
            ("transfer_service", "Can transfer a service to another client"),
            ("extend_service_free", "Can extend a service free of charge"),
            ("renew_service_paid", "Can renew a service from the client's balance"),
            ("hold_service_suspension", "Can hold or lift a service's suspension"),
            ("set_service_auto_renew", "Can turn a service's auto-renewal on or off"),
        ]
        indexes = [
            models.Index(fields=["client", "status"]),
            models.Index(fields=["status", "expires_on"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status=ServiceStatus.IN_PROGRESS) | Q(operation=""),
                name="operation_only_in_progress",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.name}"

    @property
    def product_type(self) -> str:
        return self.plan.product_type

    @property
    def is_server(self) -> bool:
        return self.plan.product_type in SERVER_TYPES

    @property
    def status_label(self) -> str:
        if self.status == ServiceStatus.IN_PROGRESS and self.operation:
            return f"In progress: {Operation(self.operation).label}"
        if self.status == ServiceStatus.SUSPENDED and self.suspend_reason not in (
            "", SuspendReason.CLIENT
        ):
            return f"Suspended {SuspendReason(self.suspend_reason).label}"
        return ServiceStatus(self.status).label


class ServiceAddon(models.Model):
    """The value a service has for one addon of its plan."""

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="addon_values")
    addon = models.ForeignKey(Addon, on_delete=models.PROTECT, related_name="values")
    quantity = quantity_field()
    choice = models.ForeignKey(EnumerationItem, null=True, blank=True, on_delete=models.PROTECT)

    class Meta:
        ordering = ["addon__position", "addon__name"]
        constraints = [
            models.UniqueConstraint(fields=["service", "addon"], name="service_addon_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.addon.name}: {self.display_value}"

    @property
    def display_value(self) -> str:
        kind = self.addon.kind
        if kind == AddonKind.CHOICE:
            return self.choice.label if self.choice else "—"
        if kind == AddonKind.TOGGLE:
            return "On" if self.quantity else "Off"
        unit = f" {self.addon.unit.symbol}" if self.addon.unit else ""
        return f"{self.quantity.normalize():f}{unit}"


class ServiceHistory(models.Model):
    """Every change of a service: who, when, from which status to which, and why."""

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="history")
    created_at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="+")
    actor_label = models.CharField(max_length=254)
    from_status = models.CharField(max_length=30, choices=ServiceStatus.choices, blank=True)
    to_status = models.CharField(max_length=30, choices=ServiceStatus.choices, blank=True)
    operation = models.CharField(max_length=20, choices=Operation.choices, blank=True)
    reason = models.CharField(max_length=255, blank=True)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "service history"

    def __str__(self) -> str:
        return f"{self.service} {self.from_status} → {self.to_status}"


class ServiceOperation(models.Model):
    """One provisioning operation sent to a service's processing module.

    Its status is written ahead of the module call (running) and after it (done or
    failed), so a worker that dies mid-call leaves a visible, retryable operation and a
    redelivered task never runs a finished one again.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        WAITING_FOR_STAFF = "waiting", "Waiting for staff"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="operations")
    kind = models.CharField(max_length=20, choices=Operation.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING,
                              db_index=True)
    target_status = models.CharField(max_length=30, choices=ServiceStatus.choices)
    suspend_reason = models.CharField(max_length=12, choices=SuspendReason.choices, blank=True)
    # Where the service returns if staff cancel the operation.
    previous_status = models.CharField(max_length=30, choices=ServiceStatus.choices)
    previous_suspend_reason = models.CharField(max_length=12, choices=SuspendReason.choices,
                                               blank=True)
    params = models.JSONField(default=dict, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # One unfinished operation per service: a second one must wait its turn.
            models.UniqueConstraint(
                fields=["service"],
                condition=Q(status__in=["pending", "waiting", "running", "failed"]),
                name="one_open_operation_per_service",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of {self.service} ({self.status})"

    @property
    def idempotency_key(self) -> str:
        """Handed to the module, so that a panel API can recognise a repeated call."""
        return f"service-operation-{self.pk}"


class ServiceUsage(models.Model):
    """Measured use of a metered addon in one billing period (recorded by the module,
    by staff or by an import); the latest figure for the period counts."""

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="usage")
    addon = models.ForeignKey(Addon, on_delete=models.PROTECT, related_name="usage")
    period_start = models.DateField()
    period_end = models.DateField()
    quantity = quantity_field()
    recorded_at = models.DateTimeField(default=timezone.now)
    source = models.CharField(max_length=40, default="module")

    class Meta:
        ordering = ["-period_start", "addon"]
        constraints = [
            models.UniqueConstraint(fields=["service", "addon", "period_start"],
                                    name="usage_per_period_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.service} {self.addon.name} {self.period_start}: {self.quantity}"
