"""The support center: departments, categories, tickets, their messages and attachments."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from accounts.models import Client, ClientGroup, Department, Provider
from services.models import ProductType, Service


class SupportDepartment(models.Model):
    """Where tickets go; its policy says how long a closed ticket may be re-opened."""

    name = models.CharField(_("name"), max_length=100)
    slug = models.SlugField(_("slug"), unique=True)
    email = models.EmailField(_("e-mail address"), blank=True)
    reopen_days = models.PositiveSmallIntegerField(
        _("re-open window (days)"), default=7,
        help_text=_("A client reply this many days after closing opens a new linked ticket."))
    archive_days = models.PositiveSmallIntegerField(
        _("archive after (days)"), default=30,
        help_text=_("Closed tickets move to the archive after this many days."))
    position = models.PositiveSmallIntegerField(default=0)
    # Who works the queue: staff in these departments (the staff panel's groups). A support
    # employee outside them never sees the department's tickets; administrators see all.
    staff_departments = models.ManyToManyField(
        Department, blank=True, related_name="+", verbose_name=_("staff departments"),
        help_text=_("Staff in these departments see and answer this department's tickets."))

    class Meta:
        ordering = ["position", "name"]
        verbose_name = _("support department")

    def __str__(self) -> str:
        return self.name


class Category(models.Model):
    name = models.CharField(_("name"), max_length=100)
    department = models.ForeignKey(SupportDepartment, on_delete=models.PROTECT,
                                   related_name="categories",
                                   verbose_name=_("default department"))

    class Meta:
        ordering = ["name"]
        verbose_name = _("category")
        verbose_name_plural = _("categories")

    def __str__(self) -> str:
        return self.name


class TicketStatus(models.TextChoices):
    """Who is waiting: the status says whose move it is."""

    NEW = "new", _("New")
    AWAITING_STAFF = "awaiting_staff", _("Awaiting staff")
    AWAITING_CLIENT = "awaiting_client", _("Awaiting client")
    ON_HOLD = "on_hold", _("On hold")
    CLOSED = "closed", _("Closed")


class Priority(models.TextChoices):
    LOW = "low", _("Low")
    NORMAL = "normal", _("Normal")
    HIGH = "high", _("High")
    URGENT = "urgent", _("Urgent")


class Ticket(models.Model):
    # Its display number is random (per provider) so that it never tells how many exist.
    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="+")
    number = models.PositiveIntegerField(_("number"))
    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="tickets")
    opened_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                  on_delete=models.SET_NULL, related_name="+")
    department = models.ForeignKey(SupportDepartment, on_delete=models.PROTECT,
                                   related_name="tickets", verbose_name=_("department"))
    category = models.ForeignKey(Category, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="tickets", verbose_name=_("category"))
    priority = models.CharField(_("priority"), max_length=10, choices=Priority.choices,
                                default=Priority.NORMAL)
    # The service belongs to the ticket's client: support.tickets checks it on every write.
    service = models.ForeignKey(Service, null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="tickets", verbose_name=_("service"))
    subject = models.CharField(_("subject"), max_length=200)
    status = models.CharField(_("status"), max_length=20, choices=TicketStatus.choices,
                              default=TicketStatus.NEW)
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="assigned_tickets",
                                 limit_choices_to={"is_staff": True},
                                 verbose_name=_("assignee"))
    created_at = models.DateTimeField(_("opened"))
    updated_at = models.DateTimeField(_("updated"))
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    rating = models.PositiveSmallIntegerField(
        _("rating"), null=True, blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(5)])
    rating_comment = models.TextField(_("rating comment"), blank=True)
    linked_to = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="follow_ups",
        help_text=_("The closed ticket a late reply continued."))

    class Meta:
        ordering = ["-updated_at", "-id"]
        verbose_name = _("ticket")
        permissions = [("reply_ticket", "Can reply to tickets and write internal notes")]
        constraints = [
            models.UniqueConstraint(fields=["provider", "number"], name="ticket_number_unique"),
            models.CheckConstraint(condition=Q(number__gte=100000, number__lte=999999),
                                   name="ticket_number_six_digits"),
            models.CheckConstraint(condition=Q(rating__isnull=True)
                                   | Q(rating__gte=1, rating__lte=5),
                                   name="ticket_rating_1_to_5"),
        ]
        indexes = [
            models.Index(fields=["client", "status"]),
            models.Index(fields=["status", "department", "updated_at"]),
        ]

    def __str__(self) -> str:
        return f"#{self.display_number} {self.subject}"

    @property
    def display_number(self) -> str:
        return f"T-{self.number}"

    @property
    def subject_token(self) -> str:
        return f"[#{self.display_number}]"

    @property
    def is_closed(self) -> bool:
        return self.status == TicketStatus.CLOSED


class MessageKind(models.TextChoices):
    CLIENT = "client", _("Client")
    STAFF = "staff", _("Staff")
    INTERNAL_NOTE = "internal_note", _("Internal note")


class Message(models.Model):
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="messages")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                               on_delete=models.SET_NULL, related_name="+")
    kind = models.CharField(max_length=20, choices=MessageKind.choices)
    body_text = models.TextField(blank=True)
    body_html = models.TextField(blank=True, help_text=_("Sanitized (nh3) when it is stored."))
    created_at = models.DateTimeField()
    # The e-mail Message-ID, taken once: a message piped or polled twice is stored once.
    message_id = models.CharField(max_length=998, null=True, blank=True, unique=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["ticket", "created_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on {self.ticket.display_number}"


def _attachment_path(instance: Attachment, filename: str) -> str:
    # Never the client's file name on disk: it may hold path tricks or scripts' extensions.
    return f"support/{instance.message.ticket_id}/{instance.stored_name}"


class Attachment(models.Model):
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to=_attachment_path, max_length=255)
    stored_name = models.CharField(max_length=64)
    original_name = models.CharField(max_length=255)
    size = models.PositiveBigIntegerField()
    content_type = models.CharField(max_length=100, help_text=_("Sniffed from the content."))

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.original_name


class InboundOutcome(models.TextChoices):
    RECEIVED = "received", _("Received, not processed yet")
    TICKET_CREATED = "ticket_created", _("Ticket created")
    REPLY_ADDED = "reply_added", _("Reply added")
    UNKNOWN_SENDER = "unknown_sender", _("Unknown sender")
    AUTO_REPLY = "auto_reply", _("Auto-reply")
    BOUNCE = "bounce", _("Bounce")
    SPAM = "spam", _("Spam")
    DUPLICATE = "duplicate", _("Duplicate")
    FAILED = "failed", _("Failed")


class InboundEmail(models.Model):
    """The raw source of every message received, stored before it is processed so that
    nothing received is ever lost, whatever processing makes of it."""

    class Route(models.TextChoices):
        PIPE = "pipe", _("Pipe")
        IMAP = "imap", _("IMAP")

    raw = models.BinaryField(_("raw source"))
    message_id = models.CharField(_("Message-ID"), max_length=998, unique=True)
    sender = models.CharField(_("sender"), max_length=320, blank=True)
    subject = models.CharField(_("subject"), max_length=300, blank=True)
    received_at = models.DateTimeField(_("received"))
    route = models.CharField(_("route"), max_length=10, choices=Route.choices)
    department = models.ForeignKey(SupportDepartment, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    outcome = models.CharField(_("outcome"), max_length=20, choices=InboundOutcome.choices,
                               default=InboundOutcome.RECEIVED)
    ticket = models.ForeignKey(Ticket, null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="inbound_emails")
    ticket_message = models.ForeignKey(Message, null=True, blank=True,
                                       on_delete=models.SET_NULL, related_name="+")
    error = models.TextField(_("error"), blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name = _("received e-mail")
        verbose_name_plural = _("received e-mail")
        permissions = [("download_inboundemail", "Can download the raw source of e-mail")]
        indexes = [models.Index(fields=["outcome", "received_at"])]

    def __str__(self) -> str:
        return f"{self.sender}: {self.subject}"


# Announcements (the staff module "Notifications") ------------------------------------------


class AnnouncementLevel(models.TextChoices):
    INFO = "info", _("Information")
    MAINTENANCE = "maintenance", _("Maintenance")
    INCIDENT = "incident", _("Incident")


class AnnouncementAudience(models.TextChoices):
    ALL = "all", _("All clients")
    PRODUCT_TYPES = "product_types", _("Clients with services of the chosen product types")
    SERVICES = "services", _("Clients of the chosen services")
    GROUPS = "groups", _("Clients in the chosen client groups")


def _product_types_field(verbose_name, help_text):
    return ArrayField(models.CharField(max_length=20, choices=ProductType.choices),
                      default=list, blank=True, verbose_name=verbose_name, help_text=help_text)


class Announcement(models.Model):
    """A notice to clients for a period (maintenance, an incident); shown on the home page
    and, if asked, once after sign-in. While it lasts it may block new tickets about chosen
    product types or services: the ticket form shows the reason instead (support.announcements
    holds the rules)."""

    provider = models.ForeignKey(
        Provider, null=True, blank=True, on_delete=models.CASCADE, related_name="+",
        verbose_name=_("provider"), help_text=_("Empty: the clients of every provider."))
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(
        _("text"), help_text=_("Plain text, or HTML (links, lists, emphasis), which is "
                               "sanitized when saved."))
    level = models.CharField(_("level"), max_length=20, choices=AnnouncementLevel.choices,
                             default=AnnouncementLevel.INFO)
    starts_at = models.DateTimeField(_("shown from"))
    ends_at = models.DateTimeField(_("shown until"), null=True, blank=True,
                                   help_text=_("Empty: until someone sets an end."))
    audience = models.CharField(_("shown to"), max_length=20,
                                choices=AnnouncementAudience.choices,
                                default=AnnouncementAudience.ALL)
    audience_product_types = _product_types_field(
        _("product types"), _("Clients with a service (not deleted) of one of these types."))
    audience_services = models.ManyToManyField(
        Service, blank=True, related_name="+", verbose_name=_("services"),
        help_text=_("The clients of these services."))
    audience_groups = models.ManyToManyField(
        ClientGroup, blank=True, related_name="+", verbose_name=_("client groups"))
    show_on_sign_in = models.BooleanField(
        _("show after sign-in"), default=False,
        help_text=_("A banner on every page of the client area until the user dismisses it."))
    blocks_product_types = _product_types_field(
        _("block new tickets about these product types"),
        _("While it is shown, its clients cannot open a ticket about a service of these "
          "types; the ticket form says why."))
    blocks_services = models.ManyToManyField(
        Service, blank=True, related_name="+",
        verbose_name=_("block new tickets about these services"))
    block_reason = models.TextField(
        _("reason shown on the ticket form"), blank=True,
        help_text=_("e.g. We know about the outage in Frankfurt and are working on it; "
                    "follow the updates at https://status.example.com."))
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["-starts_at", "-id"]
        verbose_name = _("announcement to clients")
        verbose_name_plural = _("notifications (announcements to clients)")
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__isnull=True)
                                   | Q(ends_at__gt=models.F("starts_at")),
                                   name="announcement_ends_after_start"),
        ]
        indexes = [models.Index(fields=["starts_at", "ends_at"])]

    def __str__(self) -> str:
        return self.title


class AnnouncementDismissal(models.Model):
    """A user closed an announcement's sign-in banner; it stays closed for that user."""

    announcement = models.ForeignKey(Announcement, on_delete=models.CASCADE,
                                     related_name="dismissals")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="+")
    dismissed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["announcement", "user"],
                                    name="announcement_dismissed_once"),
        ]

    def __str__(self) -> str:
        return f"{self.announcement} closed by {self.user}"
