"""Followers of a ticket: users of its client with the support right who get staff
replies by e-mail. The opener follows from the start; others follow and stop from the
ticket's page. Losing the support right stops the mail (the right is asked each time)."""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import Access, ClientUser, User
from accounts.rights import Area, access_allows, membership_access
from support.models import Ticket, TicketFollower


def may_follow(ticket: Ticket, user: User | None) -> bool:
    """A user of the ticket's client who may at least read its tickets."""
    if user is None or not user.is_active:
        return False
    membership = ClientUser.objects.filter(user=user, client_id=ticket.client_id).first()
    return membership is not None and access_allows(
        membership_access(membership, Area.SUPPORT), Access.READ)


def is_following(ticket: Ticket, user: User) -> bool:
    return TicketFollower.objects.filter(ticket=ticket, user=user).exists()


@transaction.atomic
def ticket_follow(*, ticket: Ticket, user: User, now: datetime) -> TicketFollower:
    """Follow the ticket; following twice is following once."""
    if not may_follow(ticket, user):
        raise ValidationError(_("Only users of this account with the support right can "
                                "follow its tickets."), code="no_right")
    follower, _created = TicketFollower.objects.get_or_create(
        ticket=ticket, user=user, defaults={"created_at": now})
    return follower


@transaction.atomic
def ticket_unfollow(*, ticket: Ticket, user: User) -> None:
    TicketFollower.objects.filter(ticket=ticket, user=user).delete()


def follow_on_open(*, ticket: Ticket, user: User | None, now: datetime) -> None:
    """The opener follows their ticket, when they are one of its client's users (not a
    member of staff acting in the client area)."""
    if may_follow(ticket, user):
        TicketFollower.objects.get_or_create(ticket=ticket, user=user,
                                             defaults={"created_at": now})


def mailed_followers(ticket: Ticket) -> list[User]:
    """Followers to mail now: active users of the ticket's client who still hold the
    support right, each address once and not the client's own (which is mailed anyway)."""
    followers = list(TicketFollower.objects.filter(ticket=ticket, user__is_active=True)
                     .select_related("user").order_by("created_at", "pk"))
    memberships = {membership.user_id: membership for membership in ClientUser.objects.filter(
        client_id=ticket.client_id, user_id__in=[f.user_id for f in followers])}
    seen = {ticket.client.email.strip().lower()}
    users = []
    for follower in followers:
        membership = memberships.get(follower.user_id)
        address = follower.user.email.strip().lower()
        if membership is None or address in seen or not access_allows(
                membership_access(membership, Area.SUPPORT), Access.READ):
            continue
        seen.add(address)
        users.append(follower.user)
    return users
