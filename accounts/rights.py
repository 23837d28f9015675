"""Rights of client users per area of the client area, and the client context of a request.

Every client-area view asks ``ClientContext.can(area, level)``; the context is built
once per request by ``accounts.middleware.ClientAreaMiddleware``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from django.utils.translation import gettext_lazy as _

from accounts.models import Access, Client, ClientUser, User


class Area(StrEnum):
    SERVICES = "services"
    FINANCES = "finances"
    SUPPORT = "support"
    SETTINGS = "settings"

    @property
    def label(self) -> str:
        return AREA_LABELS[self]


AREA_LABELS = {
    Area.SERVICES: _("Products/Services"),
    Area.FINANCES: _("Finances"),
    Area.SUPPORT: _("Support center"),
    Area.SETTINGS: _("Settings and users"),
}

_RANK = {Access.NONE: 0, Access.READ: 1, Access.MANAGE: 2}


def access_allows(granted: str, needed: str) -> bool:
    return _RANK[Access(granted)] >= _RANK[Access(needed)]


def membership_access(membership: ClientUser, area: Area) -> str:
    if membership.is_owner:
        return Access.MANAGE
    return getattr(membership, f"{area.value}_access")


# A member of staff inside a client's area keeps their own department's rights: each area
# opens to the staff permission that already lets them see (or change) the same things in
# the staff panel. Support, who may not see money there, sees none here either.
STAFF_AREA_RIGHTS: dict[Area, tuple[str, str]] = {
    # area: (permission to read it, permission to manage it)
    Area.SERVICES: ("services.view_service", "services.change_service"),
    Area.FINANCES: ("billing.view_invoice", "billing.add_transaction"),
    Area.SUPPORT: ("accounts.impersonate_client", "accounts.impersonate_client"),
    Area.SETTINGS: ("accounts.view_clientuser", "accounts.change_clientuser"),
}


def staff_access(staff: User, area: Area) -> str:
    """What a member of staff who entered a client's area may do in ``area``."""
    if staff.is_superuser:
        return Access.MANAGE
    read, manage = STAFF_AREA_RIGHTS[area]
    if staff.has_perm(manage):
        return Access.MANAGE
    if staff.has_perm(read):
        return Access.READ
    return Access.NONE


def staff_departments_label(staff: User) -> str:
    """Whose rights apply: "Administrator", or the staff member's departments."""
    if staff.is_superuser:
        return str(_("Administrator"))
    names = sorted(group.name for group in staff.groups.all())
    return ", ".join(names) if names else str(_("no department"))


@dataclass(frozen=True)
class ClientContext:
    """Whose client area this request is in, and what the person behind it may do.

    ``membership`` is None when a staff member entered the client area as the client
    (``impersonator`` is then that staff member, who acts with their own department's
    rights, see ``staff_access``).
    """

    client: Client
    user: User
    membership: ClientUser | None = None
    impersonator: User | None = None

    def access(self, area: Area) -> str:
        if self.membership is None:
            if self.impersonator is None:
                return Access.NONE
            return staff_access(self.impersonator, area)
        return membership_access(self.membership, area)

    @property
    def open_areas(self) -> list[Area]:
        """The areas this person may at least read (the banner names them)."""
        return [area for area in Area if self.can(area)]

    @property
    def rights_label(self) -> str:
        """Whose rights a staff member acts with in the client area."""
        if self.impersonator is None:
            return ""
        return staff_departments_label(self.impersonator)

    def can(self, area: Area, level: str = Access.READ) -> bool:
        return access_allows(self.access(area), level)

    @property
    def is_owner(self) -> bool:
        """The client's owner; a member of staff counts as the owner only as an
        administrator (the owner's rights are all rights)."""
        if self.membership is None:
            return self.impersonator is not None and self.impersonator.is_superuser
        return self.membership.is_owner
