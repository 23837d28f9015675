"""Rights of client users per area of the client area, and the client context of a request.

Every client-area view asks ``ClientContext.can(area, level)``; the context is built
once per request by ``accounts.middleware.ClientAreaMiddleware``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

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
    Area.SERVICES: "Products/Services",
    Area.FINANCES: "Finances",
    Area.SUPPORT: "Support center",
    Area.SETTINGS: "Settings and users",
}

_RANK = {Access.NONE: 0, Access.READ: 1, Access.MANAGE: 2}


def access_allows(granted: str, needed: str) -> bool:
    return _RANK[Access(granted)] >= _RANK[Access(needed)]


def membership_access(membership: ClientUser, area: Area) -> str:
    if membership.is_owner:
        return Access.MANAGE
    return getattr(membership, f"{area.value}_access")


@dataclass(frozen=True)
class ClientContext:
    """Whose client area this request is in, and what the person behind it may do.

    ``membership`` is None when a staff member entered the client area as the client
    (``impersonator`` is then that staff member, who acts with the owner's rights).
    """

    client: Client
    user: User
    membership: ClientUser | None = None
    impersonator: User | None = None

    def access(self, area: Area) -> str:
        if self.membership is None:
            return Access.MANAGE
        return membership_access(self.membership, area)

    def can(self, area: Area, level: str = Access.READ) -> bool:
        return access_allows(self.access(area), level)

    @property
    def is_owner(self) -> bool:
        return self.membership is None or self.membership.is_owner
