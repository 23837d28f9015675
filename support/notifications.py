"""Mail about tickets: the client hears of staff replies (accounts' notifications, once
per message), the department's staff hear of new tickets and client replies."""

from __future__ import annotations

import logging
from email.utils import make_msgid

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.notifications import notify
from support.addresses import reply_address

log = logging.getLogger(__name__)

# Until staff choose their subscriptions, the first-line department hears of everything.
STAFF_DEPARTMENT = "Technical support"


def new_message_id(department) -> str:
    """Our own Message-ID for a mail we send, on the department's mail domain."""
    address = department.email or settings.DEFAULT_FROM_EMAIL
    domain = address.rpartition("@")[2] or "localhost"
    return make_msgid(domain=domain)


REFERENCES_KEPT = 20  # enough to thread; long chains make some servers reject the header


def thread_headers(message) -> dict[str, str]:
    """Message-ID, In-Reply-To and References that thread a staff reply in the client's
    mail program, and the signed reply address that threads their answer back to us."""
    ticket = message.ticket
    earlier = list(ticket.messages.exclude(kind="internal_note").exclude(pk=message.pk)
                   .filter(message_id__isnull=False).order_by("created_at", "id")
                   .values_list("message_id", flat=True))[-REFERENCES_KEPT:]
    headers = {"Message-ID": message.message_id} if message.message_id else {}
    if earlier:
        headers["In-Reply-To"] = earlier[-1]
        headers["References"] = " ".join(earlier)
    if ticket.department.email:
        headers["Reply-To"] = reply_address(ticket, ticket.department.email)
    return headers


def client_notify_answered(message) -> None:
    ticket = message.ticket
    notify(client=ticket.client, event="ticket_answered", key=f"ticket_answered:{message.pk}",
           context={"ticket": ticket, "number": ticket.display_number,
                    "token": ticket.subject_token, "subject": ticket.subject,
                    "body": message.body_text},
           headers=thread_headers(message))


def staff_recipients() -> list[str]:
    return list(User.objects.filter(is_staff=True, is_active=True,
                                    groups__name=STAFF_DEPARTMENT)
                .exclude(email="").values_list("email", flat=True).distinct())


def staff_notify_later(message) -> None:
    """After commit: tell the department's staff about a client's new ticket or reply."""
    ticket = message.ticket
    subject = _("%(token)s %(subject)s: %(what)s") % {
        "token": ticket.subject_token, "subject": ticket.subject,
        "what": _("new ticket") if ticket.messages.count() <= 1 else _("client replied")}
    body = _("Client: %(client)s\nDepartment: %(department)s\nPriority: %(priority)s\n\n"
             "%(body)s\n\n%(site)s") % {
        "client": ticket.client, "department": ticket.department,
        "priority": ticket.get_priority_display(), "body": message.body_text,
        "site": settings.SITE_NAME}

    def send() -> None:
        recipients = staff_recipients()
        if not recipients:
            return
        try:
            send_mail(subject=subject[:200], message=body, from_email=None,
                      recipient_list=recipients)
        except Exception:  # a mail server down must not fail the client's reply
            log.exception("Could not mail staff about ticket %s", ticket.pk)

    transaction.on_commit(send)
