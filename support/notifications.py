"""Mail about tickets to the client: staff replies reach the client and the ticket's
followers (accounts' notifications, once per message and address). Staff hear of
tickets through support.staff_mail."""

from __future__ import annotations

from email.utils import make_msgid

from django.conf import settings

from accounts.notifications import notify
from support.addresses import reply_address
from support.followers import mailed_followers
from support.models import MessageKind


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
    """A staff reply, mailed to the client's address and to each follower's (see
    support.followers), each once per message (its own key); internal notes never."""
    if message.kind != MessageKind.STAFF:
        raise ValueError("Only a staff reply is mailed to the client.")
    ticket = message.ticket
    context = {"ticket": ticket, "number": ticket.display_number,
               "token": ticket.subject_token, "subject": ticket.subject,
               "body": message.body_text}
    headers = thread_headers(message)
    notify(client=ticket.client, event="ticket_answered", key=f"ticket_answered:{message.pk}",
           context=context, headers=headers)
    for user in mailed_followers(ticket):
        notify(client=ticket.client, event="ticket_answered", email=user.email,
               key=f"ticket_answered:{message.pk}:{user.pk}",
               context={**context, "recipient": user}, headers=headers)
