"""Whether a staff member's answer may go out, given what was added to the ticket since
they opened the form (the form carries the id of the newest message they saw).

=============  ==============================  =======  =======================================
writing        added since, by                 blocks   why
=============  ==============================  =======  =======================================
a reply        the client (any route)          yes      they said more: the answer may be stale
a reply        someone else on staff: reply    yes      the client would get two answers
a reply        someone else on staff: note     yes      a note is how a colleague says "I am on
                                                        it" or "don't promise that"; read it
                                                        before the client is answered
a reply        the writer themselves           no       they know what they wrote (another tab)
a note         anything                        no       a note never reaches the client, so it
                                                        cannot contradict an answer; blocking
                                                        it would only slow staff talking
=============  ==============================  =======  =======================================

A blocked reply is not sent; the form comes back with the newer messages and the writer
sends it again, now having seen them. The check runs under the ticket's row lock, in the
transaction that writes the reply (support.replies), so nothing slips in between.
"""

from __future__ import annotations

from support.models import Message, MessageKind, Ticket


def blocks(*, writing: str, added_kind: str, added_by_writer: bool) -> bool:
    """Whether a message added since the form was opened holds back what is being written
    (``writing``: a MessageKind of staff, a reply or a note)."""
    if writing == MessageKind.INTERNAL_NOTE or added_by_writer:
        return False
    return added_kind in (MessageKind.CLIENT, MessageKind.STAFF, MessageKind.INTERNAL_NOTE)


def newest_message_id(ticket: Ticket) -> int:
    """What the form records as seen when it is shown (0 for an empty thread)."""
    return ticket.messages.order_by("-id").values_list("id", flat=True).first() or 0


def collisions(*, ticket: Ticket, writer_id: int, writing: str,
               seen_up_to: int) -> list[Message]:
    """The messages added after ``seen_up_to`` that hold this answer back, oldest first."""
    added = (ticket.messages.filter(id__gt=seen_up_to).select_related("author")
             .prefetch_related("attachments").order_by("id"))
    return [message for message in added
            if blocks(writing=writing, added_kind=message.kind,
                      added_by_writer=message.author_id == writer_id)]
