"""The support center: departments, categories, tickets, their messages and attachments."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from accounts.models import Client, Department, Provider
from core.encryption import EncryptedTextField
from services.models import Service


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
        WEBHOOK = "webhook", _("Webhook")

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


# E-mail in by IMAP (issue 14, gateways) ----------------------------------------------------
class MailGateway(models.Model):
    """An incoming mailbox of a support department ("Gateways" in the staff menu): polled by
    the beat, each message taken once. The mailbox's UIDVALIDITY and the last UID taken say
    where the next poll starts: never a look-back window by date, which drops mail."""

    class Security(models.TextChoices):
        SSL = "ssl", _("SSL/TLS (port 993)")
        STARTTLS = "starttls", _("STARTTLS (port 143)")
        NONE = "none", _("None (a server on this machine only)")

    class Result(models.TextChoices):
        OK = "ok", _("OK")
        FAILED = "failed", _("Failed")

    department = models.ForeignKey(SupportDepartment, on_delete=models.PROTECT,
                                   related_name="mail_gateways",
                                   verbose_name=_("department"))
    host = models.CharField(_("IMAP server"), max_length=255)
    port = models.PositiveIntegerField(_("port"), default=993,
                                       validators=[MinValueValidator(1),
                                                   MaxValueValidator(65535)])
    security = models.CharField(_("connection security"), max_length=10,
                                choices=Security.choices, default=Security.SSL)
    username = models.CharField(_("user name"), max_length=255)
    password = EncryptedTextField(_("password"))
    folder = models.CharField(_("folder"), max_length=255, default="INBOX")
    is_enabled = models.BooleanField(_("enabled"), default=True)
    mark_seen = models.BooleanField(
        _("mark taken messages as read"), default=True,
        help_text=_("Messages are never deleted from the server; this only flags them."))
    # Where the next poll starts; written by the poll only.
    uidvalidity = models.PositiveBigIntegerField(_("UIDVALIDITY"), null=True, blank=True,
                                                 editable=False)
    last_uid = models.PositiveBigIntegerField(_("last UID taken"), default=0, editable=False)
    last_polled_at = models.DateTimeField(_("last polled"), null=True, blank=True,
                                          editable=False)
    last_result = models.CharField(_("last result"), max_length=10, choices=Result.choices,
                                   blank=True, editable=False)
    last_error = models.TextField(_("last error"), blank=True, editable=False)

    class Meta:
        ordering = ["department__position", "host", "username"]
        verbose_name = _("gateway")
        verbose_name_plural = _("gateways")
        permissions = [("test_mailgateway", "Can test a gateway's connection")]
        constraints = [
            # Two gateways on one mailbox would take each message twice over.
            models.UniqueConstraint(fields=["host", "port", "username", "folder"],
                                    name="mail_gateway_mailbox_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.username} on {self.host} ({self.folder})"


class MailGatewayPoll(models.Model):
    """Written before each connection to a mailbox (what will be fetched and why), then
    completed with what came of it: the log of every call to the IMAP server."""

    class Kind(models.TextChoices):
        POLL = "poll", _("Poll")
        TEST = "test", _("Connection test")

    class Status(models.TextChoices):
        STARTED = "started", _("Started")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")

    gateway = models.ForeignKey(MailGateway, on_delete=models.CASCADE, related_name="polls")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    reason = models.CharField(_("why"), max_length=200)
    started_at = models.DateTimeField(_("started"))
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.STARTED)
    uidvalidity = models.PositiveBigIntegerField(null=True, blank=True)
    after_uid = models.PositiveBigIntegerField(
        _("UIDs after"), default=0, help_text=_("Messages with a greater UID are fetched."))
    fetched = models.PositiveIntegerField(default=0)
    stored = models.PositiveIntegerField(default=0)
    duplicates = models.PositiveIntegerField(default=0)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    note = models.CharField(max_length=300, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["gateway", "started_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.gateway} {self.started_at:%Y-%m-%d %H:%M}"
