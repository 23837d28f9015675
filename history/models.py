"""What the history records: an event model per tracked model, filled by PostgreSQL
triggers (django-pghistory), so a bulk ``update()`` or the clock's raw SQL is recorded as
surely as a form's save.

The triggers hang on proxy models declared here, so that their migrations belong to this
app and the tracked apps know nothing of it. Event tables are append-only (a trigger
refuses UPDATE and DELETE). Secrets (gateway keys, password hashes) are never copied.
"""

from __future__ import annotations

import pghistory
from django.contrib.auth.models import Group
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import Client, ClientUser, Payer, User
from cart.models import PromoCode
from payments.models import PaymentMethod
from services.models import AddonPrice, PlanPrice, Service, TariffPlan


def row_changes():
    """Every change: the row as inserted, each update that touches a tracked field (the
    new values; the old ones are the previous event's) and the row as deleted. Fresh
    trackers per model: pghistory fits an update's condition to the model it tracks."""
    return pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent()


def membership():
    """For many-to-many rows (a staff member in a department, a right given)."""
    return pghistory.InsertEvent("added"), pghistory.DeleteEvent("removed")

# The fields of a service that are its billing facts. Its status, operation and
# timestamps change with the state machine, which keeps its own history
# (services.ServiceHistory); leaving them out keeps the clock's status updates free of
# events.
SERVICE_BILLING_FIELDS = ["client", "plan", "name", "billing_period", "auto_renew",
                          "expires_on", "anchor_day", "suspension_hold_until"]


class HistoryAccess(models.Model):
    """No table: only the permission to read the history."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [("view_events", _("Can see the history of changes"))]

    def __str__(self) -> str:
        return str(_("History of changes"))


def _track(proxy_name: str, model: type[models.Model], *trackers, **options):
    """Track ``model`` through a proxy of it in this app, into ``<Name>Event``."""
    proxy = type(proxy_name, (model,), {
        "__module__": __name__,
        "Meta": type("Meta", (), {"proxy": True, "app_label": "history",
                                  "default_permissions": ()}),
    })
    return pghistory.track(*trackers, model_name=f"{proxy_name}Event", app_label="history",
                           **options)(proxy)


TrackedClient = _track("Client", Client, *row_changes())
TrackedUser = _track("User", User, *row_changes(), exclude=["password", "last_login"])
TrackedClientUser = _track("ClientUser", ClientUser, *row_changes())
TrackedPayer = _track("Payer", Payer, *row_changes(), exclude=["updated_at"])
TrackedDepartment = _track("Department", Group, *row_changes())
TrackedDepartmentMember = _track("DepartmentMember", User.groups.through, *membership())
TrackedDepartmentRight = _track("DepartmentRight", Group.permissions.through, *membership())
TrackedUserRight = _track("UserRight", User.user_permissions.through, *membership())
TrackedService = _track("Service", Service, *row_changes(), fields=SERVICE_BILLING_FIELDS)
TrackedPlan = _track("Plan", TariffPlan, *row_changes())
TrackedPlanPrice = _track("PlanPrice", PlanPrice, *row_changes())
TrackedAddonPrice = _track("AddonPrice", AddonPrice, *row_changes())
TrackedPaymentMethod = _track("PaymentMethod", PaymentMethod, *row_changes(),
                              exclude=["secret_key", "webhook_secret"])
# ``uses`` counts redemptions: it changes with every order, not by anyone's decision.
TrackedPromoCode = _track("PromoCode", PromoCode, *row_changes(), exclude=["uses"])
