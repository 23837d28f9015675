"""The support center: departments, categories, tickets, their messages and attachments."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import available_timezones

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from accounts.models import Client, ClientGroup, Department, Provider
from core.encryption import EncryptedTextField
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
    # SLA and the clock's housekeeping (issue 14, SLA part): support.sla, support.autoclose.
    calendar = models.ForeignKey(
        "BusinessCalendar", null=True, blank=True, on_delete=models.SET_NULL,
        related_name="departments", verbose_name=_("business hours"),
        help_text=_("SLA targets count working time of this calendar; without one, every "
                    "hour counts."))
    autoclose_days = models.PositiveSmallIntegerField(
        _("auto-close after (days)"), default=0,
        help_text=_("A ticket awaiting the client this many days is closed; 0: never."))
    autoclose_warning_days = models.PositiveSmallIntegerField(
        _("warn before auto-close (days)"), default=2,
        help_text=_("The client is told this many days before the ticket closes."))
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
    # SLA (support.sla keeps these true on every write; support.sla.sla_state reads them).
    # The SLA clock runs while staff owe a move (new, awaiting staff) and stands still
    # while the client owes one, the ticket is on hold, or it is closed.
    first_responded_at = models.DateTimeField(_("first response"), null=True, blank=True)
    first_responded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+", verbose_name=_("first response by"))
    sla_first_response_due_at = models.DateTimeField(_("first response due"), null=True,
                                                     blank=True)
    sla_first_response_risk_at = models.DateTimeField(null=True, blank=True)
    sla_resolution_due_at = models.DateTimeField(_("resolution due"), null=True, blank=True)
    sla_resolution_risk_at = models.DateTimeField(null=True, blank=True)
    sla_paused = models.DurationField(
        default=timedelta(0), help_text=_("Business time the SLA clock stood still."))
    sla_paused_since = models.DateTimeField(null=True, blank=True)
    # Business time it took, measured once it happened (the report's medians).
    sla_first_response_time = models.DurationField(null=True, blank=True)
    sla_resolution_time = models.DurationField(null=True, blank=True)
    # Auto-close counts from when the wait for the client began (a staff reply restarts it).
    awaiting_client_since = models.DateTimeField(null=True, blank=True)
    autoclose_warned_at = models.DateTimeField(null=True, blank=True)
    archived_at = models.DateTimeField(_("archived"), null=True, blank=True)
    # Queue (issue 14): a merged ticket is closed and points at the ticket that took its
    # thread; mail threaded to it (its subject token, its plus-address) lands there.
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="merged_from",
        verbose_name=_("merged into"),
        help_text=_("The ticket this one's messages were moved to."))

    class Meta:
        ordering = ["-updated_at", "-id"]
        verbose_name = _("ticket")
        permissions = [("reply_ticket", "Can reply to tickets and write internal notes"),
                       # Queue (issue 14):
                       ("transfer_ticket", "Can transfer tickets to another department"),
                       ("merge_ticket", "Can merge two tickets of one client")]
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
            # The beat's escalations: running clocks by their next target (support.sla).
            models.Index(fields=["sla_first_response_due_at"],
                         condition=Q(sla_paused_since__isnull=True,
                                     first_responded_at__isnull=True),
                         name="ticket_sla_first_response"),
            models.Index(fields=["sla_resolution_due_at"],
                         condition=Q(sla_paused_since__isnull=True),
                         name="ticket_sla_resolution"),
            # Queue (issue 14): the Active tickets list (newest first) and its counters read
            # open tickets only, a small part of all; "All tickets" walks the full order.
            models.Index(F("updated_at").desc(), F("id").desc(),
                         condition=~Q(status="closed"), name="ticket_open_recent"),
            models.Index(fields=["department", "status"], condition=~Q(status="closed"),
                         name="ticket_open_department"),
            models.Index(F("updated_at").desc(), F("id").desc(), name="ticket_recent"),
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
    # The staff reply form's token: a double submit of one answer stores it once. NULL (not
    # "") where there is none: the unique constraint must not count those as equal.
    idempotency_key = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["ticket", "created_at"])]
        constraints = [
            models.UniqueConstraint(fields=["ticket", "idempotency_key"],
                                    name="message_idempotency_key_unique"),
        ]

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
    DISCARDED = "discarded", _("Discarded by staff")


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
    # Spam and staff decisions (the E-mail screen): which rule caught it; who decided on a
    # message from an unknown sender, and when.
    spam_rule = models.ForeignKey("SpamRule", null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+", verbose_name=_("spam rule"))
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+",
                                   verbose_name=_("decided by"))
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name = _("received e-mail")
        verbose_name_plural = _("received e-mail")
        permissions = [("download_inboundemail", "Can download the raw source of e-mail"),
                       ("decide_inboundemail",
                        "Can decide on e-mail from unknown senders (ticket, reply, discard)")]
        indexes = [models.Index(fields=["outcome", "received_at"])]

    def __str__(self) -> str:
        return f"{self.sender}: {self.subject}"


# --- Answer templates and the reply form's collision check (issue 14, reply form) ---------


class TemplateScope(models.TextChoices):
    EVERYONE = "everyone", _("Everyone")
    DEPARTMENT = "department", _("One support department")
    PERSONAL = "personal", _("Only me")


class AnswerTemplate(models.Model):
    """A canned answer staff insert into a reply; its variables are filled for the ticket
    by support.answer_templates (a fixed set, never the template engine)."""

    name = models.CharField(_("name"), max_length=100)
    body = models.TextField(
        _("text"), max_length=20_000,
        help_text=_("Variables: {{ client_name }}, {{ service_name }}, {{ ticket_number }}, "
                    "{{ staff_name }}."))
    scope = models.CharField(_("shared with"), max_length=12, choices=TemplateScope.choices,
                             default=TemplateScope.PERSONAL)
    department = models.ForeignKey(SupportDepartment, null=True, blank=True,
                                   on_delete=models.CASCADE, related_name="answer_templates",
                                   verbose_name=_("support department"))
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                              on_delete=models.CASCADE, related_name="answer_templates",
                              verbose_name=_("owner"))
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("answer template")
        permissions = [("manage_shared_templates",
                        "Can manage answer templates shared with a department or everyone")]
        constraints = [
            # The scope names exactly who sees it: no department or owner left dangling.
            models.CheckConstraint(
                condition=Q(scope="everyone", department__isnull=True, owner__isnull=True)
                | Q(scope="department", department__isnull=False, owner__isnull=True)
                | Q(scope="personal", department__isnull=True, owner__isnull=False),
                name="answer_template_scope_consistent"),
        ]

    def __str__(self) -> str:
        return self.name


# --- SLA: business hours, policies, escalations (issue 14, SLA part) ---------------------


class BusinessCalendar(models.Model):
    """A department's working week in its time zone, and its holidays."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    time_zone = models.CharField(
        _("time zone"), max_length=64, default="UTC",
        help_text=_("An IANA zone such as Europe/Berlin; working hours are its wall clock."))

    class Meta:
        ordering = ["name"]
        verbose_name = _("business hours calendar")

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.time_zone not in available_timezones():
            raise ValidationError({"time_zone": _("Unknown time zone.")})


class Weekday(models.IntegerChoices):
    MONDAY = 0, _("Monday")
    TUESDAY = 1, _("Tuesday")
    WEDNESDAY = 2, _("Wednesday")
    THURSDAY = 3, _("Thursday")
    FRIDAY = 4, _("Friday")
    SATURDAY = 5, _("Saturday")
    SUNDAY = 6, _("Sunday")


class BusinessHours(models.Model):
    """One working interval of a weekday; a day may have several (a lunch break)."""

    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.CASCADE,
                                 related_name="hours")
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=Weekday.choices)
    opens = models.TimeField(_("opens"))
    closes = models.TimeField(_("closes"), help_text=_("00:00 means midnight."))

    class Meta:
        ordering = ["weekday", "opens"]
        verbose_name = _("working hours")
        verbose_name_plural = _("working hours")
        constraints = [models.CheckConstraint(
            condition=Q(closes__gt=F("opens")) | Q(closes="00:00"),
            name="business_hours_close_after_open")]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.opens:%H:%M}-{self.closes:%H:%M}"


class Holiday(models.Model):
    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.CASCADE,
                                 related_name="holidays")
    date = models.DateField(_("date"))
    name = models.CharField(_("name"), max_length=100, blank=True)

    class Meta:
        ordering = ["date"]
        verbose_name = _("holiday")
        constraints = [models.UniqueConstraint(fields=["calendar", "date"],
                                               name="holiday_once_a_day")]

    def __str__(self) -> str:
        return f"{self.date} {self.name}".strip()


class BreachReassign(models.TextChoices):
    KEEP = "keep", _("Keep the assignee")
    ASSIGN = "assign", _("Assign to the chosen staff member")
    UNASSIGN = "unassign", _("Unassign (back to the department's queue)")


class SlaPolicy(models.Model):
    """Targets in business minutes for a department's tickets of one priority; a policy
    for a client group overrides the department's general one for its clients."""

    department = models.ForeignKey(SupportDepartment, on_delete=models.CASCADE,
                                   related_name="sla_policies", verbose_name=_("department"))
    priority = models.CharField(_("priority"), max_length=10, choices=Priority.choices)
    client_group = models.ForeignKey(
        ClientGroup, null=True, blank=True, on_delete=models.CASCADE, related_name="+",
        verbose_name=_("client group"), help_text=_("Empty: every client."))
    first_response_minutes = models.PositiveIntegerField(
        _("first response within (business minutes)"), validators=[MinValueValidator(1)])
    resolution_minutes = models.PositiveIntegerField(
        _("resolution within (business minutes)"), validators=[MinValueValidator(1)])
    at_risk_percent = models.PositiveSmallIntegerField(
        _("at risk from (% of the target used)"), default=75,
        validators=[MinValueValidator(1), MaxValueValidator(99)])
    notify_at_risk = models.BooleanField(_("warn staff when at risk"), default=True)
    breach_raise_priority = models.BooleanField(_("raise the priority on a breach"),
                                                default=True)
    breach_reassign = models.CharField(_("on a breach"), max_length=10,
                                       choices=BreachReassign.choices,
                                       default=BreachReassign.KEEP)
    breach_assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+", limit_choices_to={"is_staff": True},
        verbose_name=_("assign breached tickets to"))

    class Meta:
        ordering = ["department", "client_group", "priority"]
        verbose_name = _("SLA policy")
        verbose_name_plural = _("SLA policies")
        permissions = [("view_support_report", "Can view the support quality report")]
        constraints = [
            models.UniqueConstraint(fields=["department", "priority", "client_group"],
                                    nulls_distinct=False, name="sla_policy_once"),
            models.CheckConstraint(condition=Q(at_risk_percent__gte=1,
                                               at_risk_percent__lte=99),
                                   name="sla_policy_at_risk_percent"),
        ]

    def __str__(self) -> str:
        group = self.client_group or _("every client")
        return f"{self.department} · {self.get_priority_display()} · {group}"

    def clean(self) -> None:
        if self.breach_reassign == BreachReassign.ASSIGN and self.breach_assignee_id is None:
            raise ValidationError({"breach_assignee": _("Choose who takes breached tickets.")})


class EscalationLevel(models.TextChoices):
    FIRST_RESPONSE_AT_RISK = "first_response_at_risk", _("First response at risk")
    FIRST_RESPONSE_BREACHED = "first_response_breached", _("First response breached")
    RESOLUTION_AT_RISK = "resolution_at_risk", _("Resolution at risk")
    RESOLUTION_BREACHED = "resolution_breached", _("Resolution breached")


class SlaEscalation(models.Model):
    """An escalation that happened, once per ticket and level, written in the same
    transaction as staff's e-mail about it (``StaffMail`` rows keyed by the escalation),
    so the beat running twice never escalates twice and a lost mail is sent by the
    staff mail sweep."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="escalations")
    level = models.CharField(_("level"), max_length=30, choices=EscalationLevel.choices)
    happened_at = models.DateTimeField(_("escalated"))
    due_at = models.DateTimeField(_("target"), null=True, blank=True)
    actions = models.JSONField(_("actions"), default=dict, blank=True)

    class Meta:
        ordering = ["-happened_at", "-id"]
        verbose_name = _("SLA escalation")
        constraints = [models.UniqueConstraint(fields=["ticket", "level"],
                                               name="sla_escalation_once")]

    def __str__(self) -> str:
        return f"{self.ticket.display_number}: {self.get_level_display()}"


class TicketPresence(models.Model):
    """Who has a ticket's page open, as of their page's last poll; rows older than the
    presence window are deleted by the next poll (support.presence)."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="+")
    seen_at = models.DateTimeField()
    replying = models.BooleanField(default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["ticket", "user"],
                                               name="ticket_presence_unique")]
        indexes = [models.Index(fields=["seen_at"])]

    def __str__(self) -> str:
        return f"{self.user} on {self.ticket_id}"
# --- Mail out: staff subscriptions, the staff outbox, followers (issue 14, outgoing) ---

class SubscriptionLevel(models.TextChoices):
    """Which tickets of a support department a member of staff hears of by e-mail."""

    ALL = "all", _("All tickets of the department")
    ASSIGNED = "assigned", _("Only tickets assigned to me")
    NONE = "none", _("None")


class StaffSubscription(models.Model):
    """A staff member's own choice for one department; without a row, the default applies
    (support.subscriptions.effective_level)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="+", verbose_name=_("staff member"))
    department = models.ForeignKey(SupportDepartment, on_delete=models.CASCADE,
                                   related_name="+", verbose_name=_("department"))
    level = models.CharField(_("ticket e-mail"), max_length=10,
                             choices=SubscriptionLevel.choices)

    class Meta:
        verbose_name = _("ticket e-mail subscription")
        constraints = [
            models.UniqueConstraint(fields=["user", "department"],
                                    name="staff_subscription_once"),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.department}: {self.get_level_display()}"


class StaffEvent(models.TextChoices):
    NEW_TICKET = "ticket_new", _("New ticket")
    CLIENT_REPLY = "client_reply", _("The client replied")
    ASSIGNED = "ticket_assigned", _("Ticket assigned to you")
    SLA_BREACH = "sla_breach", _("SLA target at risk or missed")


class StaffMail(models.Model):
    """One e-mail to one member of staff about one event, written in the transaction of
    the event before anything is sent; a worker sends it (support.staff_mail)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed, not retried")
        CANCELLED = "cancelled", _("Cancelled")

    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                  related_name="+")
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="staff_mail")
    message = models.ForeignKey(Message, null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="+")
    event = models.CharField(max_length=20, choices=StaffEvent.choices)
    # "<event>:<message or ticket and moment>:<recipient>": an event written twice (a
    # retried transaction, a re-run of the clock) is one row.
    key = models.CharField(max_length=200, unique=True)
    email = models.EmailField()
    subject = models.CharField(max_length=200)
    body = models.TextField()
    headers = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField()
    # A sender holds the row this long; a sender that died is taken over after it.
    claimed_until = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("staff e-mail")
        verbose_name_plural = _("staff e-mail")
        indexes = [models.Index(fields=["status", "created_at"])]

    def __str__(self) -> str:
        return f"{self.event} to {self.email}"


class TicketFollower(models.Model):
    """A user of the ticket's client who gets staff replies by e-mail (the opener follows
    from the start); mailed only while they hold the support right."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="followers")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="+")
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["ticket", "user"], name="ticket_follower_once"),
        ]

    def __str__(self) -> str:
        return f"{self.user} follows {self.ticket}"
# --- Spam rules and staff decisions on received e-mail (issue 14, spam and triage) ---


class SpamRule(models.Model):
    """One rule of the spam list kept by staff; support.spam.spam_match applies them."""

    class Kind(models.TextChoices):
        SENDER = "sender", _("Sender address is")
        DOMAIN = "domain", _("Sender domain is (or a subdomain of it)")
        SUBJECT = "subject", _("Subject contains")
        HEADER_EQUALS = "header_equals", _("Header equals")
        HEADER_STARTS = "header_starts", _("Header starts with")
        HEADER_CONTAINS = "header_contains", _("Header contains")

    HEADER_KINDS = (Kind.HEADER_EQUALS, Kind.HEADER_STARTS, Kind.HEADER_CONTAINS)

    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    header = models.CharField(_("header name"), max_length=100, blank=True,
                              help_text=_("For header rules only, e.g. X-Spam-Flag."))
    value = models.CharField(_("value"), max_length=300,
                             help_text=_("Compared without regard to letter case."))
    enabled = models.BooleanField(_("enabled"), default=True)
    note = models.CharField(_("note"), max_length=300, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+",
                                   verbose_name=_("created by"))
    created_at = models.DateTimeField(_("created"))
    hits = models.PositiveIntegerField(_("hits"), default=0)
    last_hit_at = models.DateTimeField(_("last hit"), null=True, blank=True)

    class Meta:
        ordering = ["kind", "header", "value"]
        verbose_name = _("spam rule")
        constraints = [
            # Matching ignores letter case (support.spam), so uniqueness does too.
            models.UniqueConstraint("kind", Lower("header"), Lower("value"),
                                    name="spam_rule_unique",
                                    violation_error_message=_("This rule exists already.")),
            models.CheckConstraint(condition=~Q(value=""), name="spam_rule_value_set"),
            models.CheckConstraint(
                condition=Q(kind__startswith="header_", header__gt="")
                | (~Q(kind__startswith="header_") & Q(header="")),
                name="spam_rule_header_for_header_kinds"),
        ]

    def __str__(self) -> str:
        if self.header:
            return f"{self.get_kind_display()} {self.header}: {self.value}"
        return f"{self.get_kind_display()} {self.value}"


class SenderInvitation(models.Model):
    """A reply to a stranger inviting them to register, written before it is sent: one per
    received message (the unique key), sent once (``sent_at`` claimed before sending)."""

    inbound = models.OneToOneField(InboundEmail, on_delete=models.PROTECT,
                                   related_name="invitation")
    email = models.EmailField(_("e-mail address"), max_length=320)
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("body"))
    headers = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(_("written"))
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("invitation to register")

    def __str__(self) -> str:
        return self.email


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
