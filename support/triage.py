"""Staff decisions on received e-mail that processing could not place: a message from an
unknown sender (or a colleague of a client without the support right), or one a spam rule
caught. Each decision is taken once: the message's row is locked and its outcome checked,
so a double submit or two staff members at once decide it once.

=========================  ==========================  ====================================
decision                   allowed on                  the message becomes
=========================  ==========================  ====================================
turn into a ticket         unknown sender, spam        ticket created (for a chosen client)
add as a reply             unknown sender that         reply added (or a new linked ticket
                           matched a ticket            when the closed one is past its window)
discard                    unknown sender, spam        discarded
discard and invite         unknown sender who has      discarded, and an invitation to
                           no account                  register is written, then mailed
block the sender           unknown sender, spam        spam, with a new sender/domain rule
=========================  ==========================  ====================================

The raw source is kept whatever is decided. The wall clock is never read here: callers
pass ``now``.
"""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage
from email.utils import make_msgid

from celery import current_app
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from accounts.actionlog import log_action
from accounts.models import Client, ClientUser, User
from services.models import Service
from support import tickets
from support.inbound import message_content
from support.models import (
    Category,
    InboundEmail,
    InboundOutcome,
    SenderInvitation,
    SpamRule,
    SupportDepartment,
    Ticket,
)

DECIDABLE = (InboundOutcome.UNKNOWN_SENDER, InboundOutcome.SPAM)
SEND_INVITATION = "support.tasks.send_invitation"


def parsed(inbound: InboundEmail) -> EmailMessage:
    return email.message_from_bytes(bytes(inbound.raw), policy=email.policy.default)


def content(inbound: InboundEmail, *, reply: bool) -> tuple[str, str, list]:
    """The message as a ticket message takes it (support.inbound.message_content); a
    message too broken to read is a clear refusal, never an error page. Spam was never
    read before (it is caught before its body is), so it may be the first to fail here."""
    try:
        return message_content(parsed(inbound), reply=reply)
    except Exception as error:  # the email package raises many kinds on hostile input
        raise ValidationError(_("This message cannot be read (%(error)s); download its raw "
                                "source instead.") % {"error": type(error).__name__},
                              code="unreadable") from error


def is_decidable(inbound: InboundEmail) -> bool:
    return inbound.outcome in DECIDABLE


def can_invite(inbound: InboundEmail) -> bool:
    """A stranger may be invited to register: never spam (its sender is often forged),
    never someone who has an account already, never an address that is not one."""
    if inbound.outcome != InboundOutcome.UNKNOWN_SENDER or not inbound.sender:
        return False
    try:
        validate_email(inbound.sender)
    except ValidationError:
        return False
    return not User.objects.filter(email__iexact=inbound.sender).exists()


def _locked(inbound_id: int) -> InboundEmail:
    inbound = InboundEmail.objects.select_for_update().get(pk=inbound_id)
    if not is_decidable(inbound):
        raise ValidationError(
            _("This message was decided already (%(outcome)s); nothing was changed.")
            % {"outcome": inbound.get_outcome_display()}, code="decided")
    return inbound


def _decided(inbound: InboundEmail, *, outcome: str, actor: User, now) -> None:
    inbound.outcome, inbound.decided_by, inbound.decided_at = outcome, actor, now
    inbound.save(update_fields=["outcome", "decided_by", "decided_at", "ticket",
                                "ticket_message", "spam_rule"])


def _member(client: Client, sender: str) -> User | None:
    """The sender when they are a user of the client (a colleague without the support
    right): the message is theirs. Anyone else stays anonymous in the thread."""
    if not sender:
        return None
    membership = ClientUser.objects.filter(client=client, user__email__iexact=sender,
                                           user__is_active=True).select_related("user").first()
    return membership.user if membership is not None else None


@transaction.atomic
def inbound_ticket_create(*, inbound_id: int, actor: User, client: Client,
                          department: SupportDepartment, subject: str, now,
                          category: Category | None = None, priority: str = "normal",
                          service: Service | None = None, request=None) -> Ticket:
    """A new ticket for ``client`` whose first message is the mail: its text, sanitized
    HTML and attachments; the raw stays linked from the ticket's message."""
    inbound = _locked(inbound_id)
    if service is not None and service.client_id != client.pk:
        raise ValidationError(_("%(service)s belongs to another client; choose one of "
                                "%(client)s's services.")
                              % {"service": service, "client": client}, code="foreign_service")
    text, html, uploads = content(inbound, reply=False)
    ticket = tickets.ticket_open(
        client=client, user=_member(client, inbound.sender), department=department,
        category=category, priority=priority, service=service, subject=subject, body=text,
        html=html, attachments=uploads, message_id=inbound.message_id, now=now)
    inbound.ticket = ticket
    inbound.ticket_message = ticket.messages.get(message_id=inbound.message_id)
    _decided(inbound, outcome=InboundOutcome.TICKET_CREATED, actor=actor, now=now)
    log_action(actor=actor, action="inboundemail.ticket_created", obj=inbound, client=client,
               request=request, details={"ticket": ticket.display_number,
                                         "sender": inbound.sender})
    return ticket


@transaction.atomic
def inbound_reply_add(*, inbound_id: int, actor: User, now, request=None) -> Ticket:
    """The mail as a client reply on the ticket it threaded to (the sender check failed);
    a ticket closed past its re-open window gets a new linked ticket, as for any reply."""
    inbound = _locked(inbound_id)
    if inbound.ticket_id is None:
        raise ValidationError(_("This message matched no ticket; turn it into a new ticket "
                                "instead."), code="no_ticket")
    ticket = Ticket.objects.select_related("client").get(pk=inbound.ticket_id)
    text, _html, uploads = content(inbound, reply=True)
    landed = tickets.ticket_reply_client(
        ticket=ticket, user=_member(ticket.client, inbound.sender), body=text, now=now,
        attachments=uploads, message_id=inbound.message_id)
    inbound.ticket = landed
    inbound.ticket_message = landed.messages.get(message_id=inbound.message_id)
    _decided(inbound, actor=actor, now=now,
             outcome=InboundOutcome.REPLY_ADDED if landed.pk == ticket.pk
             else InboundOutcome.TICKET_CREATED)
    log_action(actor=actor, action="inboundemail.reply_added", obj=inbound,
               client=ticket.client, request=request,
               details={"ticket": landed.display_number, "sender": inbound.sender})
    return landed


def invitation_texts(inbound: InboundEmail, *, signup_url: str) -> tuple[str, str]:
    """The invitation's subject and body (shown on the confirmation page as sent)."""
    subject = _("Re: %(subject)s") % {"subject": inbound.subject or _("your message")}
    body = _(
        "Hello,\n\nthank you for writing to %(site)s. We answer questions in our support "
        "center for our clients, and we found no account for %(email)s, so your message "
        "was not taken as a ticket.\n\nRegister here, then write to us from the client "
        "area's Support center or from the address you registered with:\n\n%(url)s\n\n"
        "%(site)s") % {"site": settings.SITE_NAME, "email": inbound.sender, "url": signup_url}
    return subject[:200], body


def _invitation_write(inbound: InboundEmail, *, signup_url: str, now) -> SenderInvitation:
    department = inbound.department
    sender = (department.email if department is not None and department.email
              else settings.DEFAULT_FROM_EMAIL)
    subject, body = invitation_texts(inbound, signup_url=signup_url)
    domain = sender.rpartition("@")[2] or "localhost"
    invitation = SenderInvitation.objects.create(
        inbound=inbound, email=inbound.sender, subject=subject, body=body, created_at=now,
        headers={"From": sender, "Message-ID": make_msgid(domain=domain),
                 "In-Reply-To": inbound.message_id, "References": inbound.message_id,
                 # RFC 3834: the stranger's own auto-responder must not answer it.
                 "Auto-Submitted": "auto-replied"})
    transaction.on_commit(lambda: current_app.send_task(SEND_INVITATION, (invitation.pk,)))
    return invitation


@transaction.atomic
def inbound_discard(*, inbound_id: int, actor: User, now, invite_signup_url: str = "",
                    request=None) -> InboundEmail:
    """Discard the message (its raw is kept); with a sign-up address, the sender is also
    invited to register, once (the invitation is unique per message)."""
    inbound = _locked(inbound_id)
    if invite_signup_url and not can_invite(inbound):
        raise ValidationError(_("Only a stranger who wrote from a valid address and has no "
                                "account may be invited; spam is never answered."),
                              code="no_invite")
    if invite_signup_url:
        _invitation_write(inbound, signup_url=invite_signup_url, now=now)
    _decided(inbound, outcome=InboundOutcome.DISCARDED, actor=actor, now=now)
    log_action(actor=actor, action="inboundemail.discarded", obj=inbound, request=request,
               details={"sender": inbound.sender, "invited": bool(invite_signup_url)})
    return inbound


BY_SENDER, BY_DOMAIN = SpamRule.Kind.SENDER, SpamRule.Kind.DOMAIN


def block_value(inbound: InboundEmail, kind: str) -> str:
    sender = inbound.sender.strip().lower()
    return sender.rpartition("@")[2] if kind == BY_DOMAIN else sender


def _blocks_someone_we_know(kind: str, value: str) -> bool:
    """A rule that would swallow mail of our own users or departments is refused: a domain
    rule for a mail provider many clients use would lose their tickets."""
    if kind == BY_SENDER:
        users = Q(email__iexact=value)
        departments = Q(email__iexact=value)
    else:
        users = Q(email__iendswith=f"@{value}") | Q(email__iendswith=f".{value}")
        departments = users
    return (User.objects.filter(users, is_active=True).exists()
            or SupportDepartment.objects.filter(departments).exists())


@transaction.atomic
def inbound_sender_block(*, inbound_id: int, actor: User, kind: str, now,
                         request=None) -> SpamRule:
    """Add the message's sender (or its domain) to the spam rules and file the message as
    spam. An existing rule for it is used (and switched on) rather than doubled."""
    inbound = _locked(inbound_id)
    if inbound.outcome == InboundOutcome.SPAM and inbound.decided_at is not None:
        raise ValidationError(_("This message was filed as spam already; nothing was "
                                "changed."), code="decided")
    if kind not in (BY_SENDER, BY_DOMAIN):
        raise ValidationError(_("Choose the sender's address or its domain."), code="kind")
    value = block_value(inbound, kind)
    if "@" not in inbound.sender or not value:
        raise ValidationError(_("This message has no sender address to block."),
                              code="no_sender")
    if _blocks_someone_we_know(kind, value):
        raise ValidationError(_("%(value)s is the address of one of our users or departments "
                                "(or their domain); blocking it would lose their mail.")
                              % {"value": value}, code="known")
    rule = SpamRule.objects.filter(kind=kind, header="", value__iexact=value).first()
    if rule is None:
        rule = SpamRule.objects.create(
            kind=kind, value=value, created_by=actor, created_at=now,
            note=_("Added from the e-mail of %(sender)s") % {"sender": inbound.sender})
    elif not rule.enabled:
        rule.enabled = True
        rule.save(update_fields=["enabled"])
    inbound.spam_rule = rule
    _decided(inbound, outcome=InboundOutcome.SPAM, actor=actor, now=now)
    log_action(actor=actor, action="inboundemail.sender_blocked", obj=inbound,
               request=request, details={"rule": str(rule), "sender": inbound.sender})
    return rule
