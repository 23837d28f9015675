"""The accounts layer: who sells (providers, companies), who buys (clients, their users
and payers), who works the panel (staff in departments), and the action log."""

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, Group, PermissionsMixin
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy
from django_countries.fields import CountryField
from djmoney.models.fields import CurrencyField

from accounts.tax_ids import normalize_tax_id, normalize_vat_id


def normalize_email(email: str) -> str:
    """E-mail addresses are compared and stored lower-cased: one person, one login."""
    return (email or "").strip().lower()


class UserManager(BaseUserManager):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **fields) -> "User":
        if not email:
            raise ValueError("An e-mail address is required.")
        user = self.model(email=normalize_email(email), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields) -> "User":
        fields.update(is_staff=True, is_superuser=True)
        return self.create_user(email, password, **fields)

    def get_by_natural_key(self, username):
        return self.get(email=normalize_email(username))


class User(AbstractBaseUser, PermissionsMixin):
    """A person who signs in: a client's user or a member of staff. Login is the e-mail."""

    email = models.EmailField("e-mail", max_length=254, unique=True)
    name = models.CharField(max_length=150)
    is_staff = models.BooleanField(
        "staff", default=False, help_text="May sign in to the staff panel."
    )
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["name"]

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("email"), name="user_email_ci_unique"),
        ]
        ordering = ["email"]
        permissions = [("reset_second_factor",
                        gettext_lazy("Can reset a client user's second factor"))]

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>" if self.name else self.email

    def clean(self) -> None:
        super().clean()
        self.email = normalize_email(self.email)

    def get_full_name(self) -> str:
        return self.name

    def get_short_name(self) -> str:
        return self.name.split(" ")[0] if self.name else self.email


class Provider(models.Model):
    """A project that sells in one currency (the seeds' N-1 in RUB and N-2 in EUR)."""

    name = models.CharField(max_length=150, unique=True)
    currency = CurrencyField(default="USD")
    domain = models.CharField(
        max_length=253,
        blank=True,
        help_text="Host name of this provider's client area; sign-ups there join this provider.",
    )
    is_default = models.BooleanField(
        default=False, help_text="Sign-ups on a host no provider claims join this provider."
    )
    # The billing clock's policy for this provider's clients.
    renewal_lead_days = models.PositiveSmallIntegerField(
        default=3, help_text="Auto-renewal happens this many days before expiry.")
    expiry_notice_days = models.PositiveSmallIntegerField(
        default=7, help_text="Clients are reminded this many days before a service expires.")
    low_balance_days = models.PositiveSmallIntegerField(
        default=3, help_text="Warn when the balance pays fewer days of daily charges.")
    promised_payment_max = models.DecimalField(
        max_digits=19, decimal_places=4, default=0,
        help_text="Largest promised payment a client may take; 0 turns them off.")
    promised_payment_days = models.PositiveSmallIntegerField(default=3)
    promised_payments_per_month = models.PositiveSmallIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=Q(is_default=True), name="one_default_provider"
            ),
            models.UniqueConstraint(
                fields=["domain"], condition=~Q(domain=""), name="provider_domain_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.currency})"


class Company(models.Model):
    """The legal entity that issues documents; linked to one or more providers."""

    name = models.CharField(max_length=150, unique=True, help_text="Short name for lists.")
    legal_name = models.CharField(max_length=255)
    country = CountryField()
    address = models.TextField(help_text="Street, city, postal code, as printed on invoices.")
    tax_id = models.CharField("tax id", max_length=40, blank=True)
    vat_id = models.CharField("VAT id", max_length=40, blank=True)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=40, blank=True)
    bank_details = models.TextField(
        blank=True, help_text="Printed on invoices paid by bank transfer."
    )
    invoice_prefix = models.CharField(
        max_length=12, unique=True, help_text="Prefix of invoice numbers, e.g. 'NB-'."
    )

    class TaxRounding(models.TextChoices):
        LINE = "line", "Round the tax of each line"
        DOCUMENT = "document", "Round the tax of the whole document"

    tax_rounding = models.CharField(max_length=10, choices=TaxRounding.choices,
                                    default=TaxRounding.LINE)
    providers = models.ManyToManyField(Provider, related_name="companies", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "companies"

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        super().clean()
        _clean_tax_numbers(self)


class ClientGroup(models.Model):
    """A group of clients (account group) for discounts, prices and reports."""

    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    requires_mfa = models.BooleanField(
        gettext_lazy("requires two-factor authentication"), default=False,
        help_text=gettext_lazy("Users of clients in this group must set up a second factor "
                               "before they open the client area."))

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Client(models.Model):
    """A person or an organisation that buys from one provider.

    Its status (Active / Not active) is not stored: a client is Active while it has an
    active service, which the services layer derives (services.selectors).
    """

    class Kind(models.TextChoices):
        PERSON = "person", "Person"
        ORGANISATION = "organisation", "Organisation"

    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="clients")
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.PERSON)
    name = models.CharField(max_length=255)
    email = models.EmailField(help_text="Contact e-mail for notifications.")
    phone = models.CharField(max_length=40, blank=True)
    groups = models.ManyToManyField(ClientGroup, related_name="clients", blank=True)
    notes = models.TextField(blank=True, help_text="Visible to staff only.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [("impersonate_client", "Can enter the client area as the client")]
        indexes = [models.Index(fields=["provider", "created_at"])]

    def __str__(self) -> str:
        return f"#{self.pk} {self.name}"

    @property
    def currency(self) -> str:
        return self.provider.currency


class Access(models.TextChoices):
    """What a client's user may do in one area of the client area."""

    NONE = "none", "No access"
    READ = "read", "Read"
    MANAGE = "manage", "Manage"


class ClientUser(models.Model):
    """A user's membership in a client account, with rights per area.

    The owner (the user created at registration) has every right and cannot be
    removed. Other users get the rights the owner grants them.
    """

    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="memberships")
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="client_membership"
    )
    is_owner = models.BooleanField(default=False)
    services_access = models.CharField(max_length=10, choices=Access.choices, default=Access.READ)
    finances_access = models.CharField(max_length=10, choices=Access.choices, default=Access.NONE)
    support_access = models.CharField(max_length=10, choices=Access.choices, default=Access.MANAGE)
    settings_access = models.CharField(max_length=10, choices=Access.choices, default=Access.NONE)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "client user"
        ordering = ["-is_owner", "created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["client"], condition=Q(is_owner=True), name="one_owner_per_client"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.client}"


class Payer(models.Model):
    """Whom a client's financial documents are made out to; a client may have several."""

    class Kind(models.TextChoices):
        INDIVIDUAL = "individual", "Individual"
        SOLE_PROPRIETOR = "sole_proprietor", "Sole proprietor"
        COMPANY = "company", "Company"

    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="payers")
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.INDIVIDUAL)
    name = models.CharField(max_length=255, help_text="Full name, or the legal name of a company.")
    country = CountryField()
    address = models.TextField(blank=True)
    tax_id = models.CharField("tax id", max_length=40, blank=True)
    vat_id = models.CharField("VAT id", max_length=40, blank=True)
    email = models.EmailField(help_text="Where invoices and financial notices are sent.")
    is_default = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-is_default", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["client"], condition=Q(is_default=True), name="one_default_payer"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_business(self) -> bool:
        return self.kind != self.Kind.INDIVIDUAL

    def clean(self) -> None:
        super().clean()
        errors = {}
        if self.is_business and not (self.address or "").strip():
            errors["address"] = "A business payer needs its registered address for invoices."
        if not self.is_business and self.vat_id:
            errors["vat_id"] = "Only a company or a sole proprietor has a VAT id."
        if errors:
            raise ValidationError(errors)
        _clean_tax_numbers(self)


def _clean_tax_numbers(obj: "Company | Payer") -> None:
    """Validate and normalise VAT and tax ids for the object's country."""
    if not obj.country:
        return
    errors = {}
    for field, normalize in (("vat_id", normalize_vat_id), ("tax_id", normalize_tax_id)):
        try:
            setattr(obj, field, normalize(str(obj.country), getattr(obj, field)))
        except ValidationError as error:
            errors[field] = error.messages
    if errors:
        raise ValidationError(errors)


class Department(Group):
    """A department of staff; its permissions are what its employees may open and change."""

    class Meta:
        proxy = True
        ordering = ["name"]


class Employee(User):
    """A member of staff (a user with is_staff); administrators are the superusers."""

    class Meta:
        proxy = True
        ordering = ["email"]


class ActionLog(models.Model):
    """Who did what to which object, and when. Written by accounts.actionlog.log_action."""

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    # Kept as text so the entry still says who it was after the user is deleted.
    actor_label = models.CharField(max_length=254)
    impersonator = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+", help_text="Staff member who acted inside the client area.",
    )
    client = models.ForeignKey(
        Client, null=True, blank=True, on_delete=models.SET_NULL, related_name="action_log"
    )
    action = models.CharField(max_length=100, db_index=True)
    object_type = models.ForeignKey(
        ContentType, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    object_id = models.CharField(max_length=64, blank=True)
    object_repr = models.CharField(max_length=255, blank=True)
    details = models.JSONField(default=dict, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_label} {self.action}"

    @property
    def label(self) -> str:
        """The action in words, for people; the dotted code stays for filters and tools."""
        return ACTION_LABELS.get(self.action) or self.action.replace("_", " ").replace(".", ": ")


ACTION_LABELS = {
    "client.registered": "Account registered",
    "client.details_changed": "Account details changed",
    "payer.created": "Payer added",
    "payer.changed": "Payer changed",
    "payer.made_default": "Default payer chosen",
    "payer.deleted": "Payer deleted",
    "client_user.invited": "User invited",
    "client_user.rights_changed": "User rights changed",
    "client_user.removed": "User removed",
    "impersonation.started": "Staff entered the client area",
    "impersonation.stopped": "Staff left the client area",
    "payment.started": "Payment started",
    "payment.confirmed_by_staff": "Payment confirmed by staff",
    "payment.refunded": "Payment refunded",
    "payment.refund_failed": "Refund failed",
    "balance.adjusted": "Balance adjusted by staff",
    "saved_method.removed": "Payment method removed",
    "saved_method.made_default": "Default payment method chosen",
    "service.suspend_requested": "Service suspended",
    "service.resume_requested": "Service resumed",
    "service.reboot_requested": "Server rebooted",
    "service.delete_requested": "Service deleted",
    "service.auto_renew_changed": "Auto-renewal changed",
    "service.nameservers_change_requested": "Name servers changed",
}


class MessageTemplate(models.Model):
    """The e-mail sent for an event; staff edit it. Without a row the built-in text of
    accounts.notifications is used."""

    event = models.CharField(max_length=40, unique=True)
    subject = models.CharField(max_length=200)
    body = models.TextField(help_text="A Django template; see the event's context in the "
                                      "documentation.")
    is_active = models.BooleanField(default=True, help_text="Off: this event sends nothing.")

    class Meta:
        ordering = ["event"]

    def __str__(self) -> str:
        return self.event


class Notification(models.Model):
    """One notice to a client about one event, sent at most once (the key is unique)."""

    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="notifications")
    event = models.CharField(max_length=40)
    key = models.CharField(max_length=200)
    email = models.EmailField()
    subject = models.CharField(max_length=200)
    body = models.TextField()
    # What a notification written in bulk (the billing clock's) is rendered from when it
    # is sent: the event's facts as they were; empty subject and body until then.
    context = models.JSONField(null=True, blank=True)
    # Mail headers of its own (a support reply's Message-ID and thread), kept with it so
    # that a resend by the beat's sweep threads like the first try.
    headers = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["event", "key"], name="notification_once"),
        ]

    def __str__(self) -> str:
        return f"{self.event} to {self.email}"
