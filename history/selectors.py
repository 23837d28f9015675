"""Reads of the history: an object's changes as old -> new values, who and which request."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.contrib.auth.models import Group
from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Client, ClientUser, Payer, User
from cart.models import PromoCode
from history import models as events
from payments.models import PaymentMethod
from services.models import AddonPrice, PlanPrice, Service, TariffPlan

# Where an object's changes are: its own events, and those of the rows that belong to
# it (a client's users and payers, a plan's prices, a staff member's departments).
SOURCES: dict[type[models.Model], list[tuple[type[models.Model], str]]] = {
    Client: [(events.ClientEvent, "pgh_obj_id"), (events.ClientUserEvent, "client_id"),
             (events.PayerEvent, "client_id")],
    User: [(events.UserEvent, "pgh_obj_id"), (events.ClientUserEvent, "user_id"),
           (events.DepartmentMemberEvent, "user_id"), (events.UserRightEvent, "user_id")],
    Group: [(events.DepartmentEvent, "pgh_obj_id"), (events.DepartmentMemberEvent, "group_id"),
            (events.DepartmentRightEvent, "group_id")],
    ClientUser: [(events.ClientUserEvent, "pgh_obj_id")],
    Payer: [(events.PayerEvent, "pgh_obj_id")],
    Service: [(events.ServiceEvent, "pgh_obj_id")],
    TariffPlan: [(events.PlanEvent, "pgh_obj_id"), (events.PlanPriceEvent, "plan_id"),
                 (events.AddonPriceEvent, "addon__plan_id")],
    PlanPrice: [(events.PlanPriceEvent, "pgh_obj_id")],
    AddonPrice: [(events.AddonPriceEvent, "pgh_obj_id")],
    PaymentMethod: [(events.PaymentMethodEvent, "pgh_obj_id")],
    PromoCode: [(events.PromoCodeEvent, "pgh_obj_id")],
}

LIMIT = 500


@dataclass
class FieldChange:
    label: str
    old: Any
    new: Any


@dataclass
class Change:
    at: datetime
    action: str
    subject: str
    who: str
    url: str
    ip: str
    fields: list[FieldChange] = field(default_factory=list)


def is_tracked(model: type[models.Model]) -> bool:
    return model._meta.concrete_model in SOURCES


def object_changes(obj: models.Model, *, limit: int = LIMIT) -> list[Change]:
    """The latest changes of ``obj`` and its rows, newest first."""
    rows: list[tuple[models.Model, models.Model | None]] = []
    for event_model, lookup in SOURCES[obj._meta.concrete_model]:
        previous: dict[Any, models.Model] = {}
        # Oldest first, so each update meets the state before it.
        for event in (event_model.objects.filter(**{lookup: obj.pk})
                      .select_related("pgh_context").order_by("pgh_id")):
            rows.append((event, previous.get(event.pgh_obj_id)))
            previous[event.pgh_obj_id] = event
    rows.sort(key=lambda row: (row[0].pgh_created_at, row[0].pgh_id), reverse=True)
    rows = rows[:limit]
    people = _people(event for event, _previous in rows)
    own_events = SOURCES[obj._meta.concrete_model][0][0]
    names: dict[tuple[type, Any], str] = {}
    return [_change(event, before, people, names, own=type(event) is own_events)
            for event, before in rows]


def _tracked_fields(event: models.Model) -> list[models.Field]:
    return [f for f in event._meta.concrete_fields
            if not f.name.startswith("pgh_") and f.name != "id"]


def _change(event, before, people, names, *, own: bool) -> Change:
    context = (event.pgh_context.metadata or {}) if event.pgh_context_id else {}
    label = event.pgh_label
    fields = _tracked_fields(event)
    if label in ("insert", "added"):
        changed = [FieldChange(_label(f), None, _display(event, f, names)) for f in fields]
    elif label in ("delete", "removed"):
        changed = [FieldChange(_label(f), _display(event, f, names), None) for f in fields]
    else:
        changed = [
            FieldChange(_label(f), _display(before, f, names) if before is not None
                        else _("(before the history began)"),
                        _display(event, f, names))
            for f in fields
            if before is None or getattr(before, f.attname) != getattr(event, f.attname)
        ]
    tracked = event.pgh_tracked_model._meta
    return Change(
        at=event.pgh_created_at,
        action=str(_ACTIONS.get(label, label)),
        subject="" if own else f"{tracked.verbose_name} #{event.pgh_obj_id}",
        who=_who(context, people),
        url=f"{context.get('method', '')} {context.get('url', '')}".strip(),
        ip=context.get("ip") or "",
        fields=changed,
    )


_ACTIONS = {"insert": gettext_lazy("created"), "update": gettext_lazy("changed"),
            "delete": gettext_lazy("deleted"), "added": gettext_lazy("added"),
            "removed": gettext_lazy("removed")}


def _label(f: models.Field) -> str:
    return str(f.verbose_name)


def _display(event: models.Model, f: models.Field, names: dict) -> str:
    value = getattr(event, f.attname)
    if value is None or value == "":
        return "—"
    if f.is_relation:
        key = (f.related_model, value)
        if key not in names:
            # The row may be gone: events keep ids, not foreign keys.
            target = f.related_model._default_manager.filter(pk=value).first()
            label = str(target) if target is not None else ""
            names[key] = (label if f"#{value}" in label
                          else f"{label} (#{value})" if label else f"#{value}")
        return names[key]
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if f.choices:
        return str(dict(f.flatchoices).get(value, value))
    return str(value)


def _people(rows) -> dict[int, str]:
    ids = set()
    for event in rows:
        if event.pgh_context_id and (event.pgh_context.metadata or {}).get("user"):
            ids.add(event.pgh_context.metadata["user"])
    return {user.pk: user.email for user in User.objects.filter(pk__in=ids)}


def _who(context: dict, people: dict[int, str]) -> str:
    if not context:
        return _("the system (billing clock, a command or a migration)")
    user = context.get("user")
    if user is None:
        return _("not signed in")
    who = people.get(user, f"#{user}")
    if context.get("impersonating_client"):
        who = _("%(who)s as client #%(client)s") % {
            "who": who, "client": context["impersonating_client"]}
    return who
