"""Which members of staff hear of which tickets by e-mail.

Each staff member chooses per support department: all of its tickets, only those assigned
to them, or none. Without a choice, who works the department hears of all its tickets and
nobody else hears of any. Nobody hears of a department whose queue they may not see,
whatever they once chose (they moved to another department).

==============  ======================================  ===============================
level           new ticket, client reply, SLA at risk   ticket assigned to them
                or missed (an escalation)
==============  ======================================  ===============================
all             yes                                     yes
assigned        only when the ticket is theirs          yes
none            no                                      no
==============  ======================================  ===============================

An escalation's mail goes to the assignee after the policy acted (who was unassigned by
it hears of it only at "all").
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import User
from support.models import StaffEvent, StaffSubscription, SubscriptionLevel, SupportDepartment
from support.selectors import department_staff, staff_support_departments


def effective_level(*, chosen: str | None, works: bool, may_see: bool) -> str:
    """The level that applies: the staff member's choice, else all for who works the
    department; never any for who may not see its queue."""
    if not may_see:
        return SubscriptionLevel.NONE
    if chosen is not None:
        return chosen
    return SubscriptionLevel.ALL if works else SubscriptionLevel.NONE


def wants(*, level: str, event: str, is_assignee: bool) -> bool:
    """Whether a staff member at ``level`` is mailed about ``event`` (the table above)."""
    if level == SubscriptionLevel.NONE:
        return False
    if is_assignee:
        return True
    return level == SubscriptionLevel.ALL and event != StaffEvent.ASSIGNED


def department_subscribers(department: SupportDepartment) -> list[tuple[User, str]]:
    """Every member of staff who may be mailed about the department's tickets, with the
    level that applies to them (levels of none left out)."""
    chosen = dict(StaffSubscription.objects.filter(department=department)
                  .values_list("user_id", "level"))
    workers = set(department_staff(department).values_list("pk", flat=True))
    users = User.objects.filter(is_staff=True, is_active=True).filter(
        pk__in=workers | {pk for pk, level in chosen.items()
                          if level != SubscriptionLevel.NONE}).order_by("pk")
    subscribers = []
    for user in users:
        level = effective_level(chosen=chosen.get(user.pk), works=user.pk in workers,
                                may_see=user.pk in workers or user.is_superuser)
        if level != SubscriptionLevel.NONE:
            subscribers.append((user, level))
    return subscribers


def user_levels(user: User) -> list[tuple[SupportDepartment, str, bool]]:
    """The departments whose queues ``user`` may see, each with the level that applies and
    whether it is the user's own choice (False: the default)."""
    chosen = dict(StaffSubscription.objects.filter(user=user)
                  .values_list("department_id", "level"))
    worked = set(SupportDepartment.objects.filter(
        staff_departments__user=user).values_list("pk", flat=True))
    return [(department,
             effective_level(chosen=chosen.get(department.pk), works=department.pk in worked,
                             may_see=True),
             department.pk in chosen)
            for department in staff_support_departments(user).order_by("position", "name")]


@transaction.atomic
def subscriptions_set(*, user: User, levels: dict[int, str]) -> list[StaffSubscription]:
    """Store ``user``'s choices (department id -> level); all or nothing. A department
    whose queue the user may not see, or an unknown level, is refused."""
    allowed = set(staff_support_departments(user).values_list("pk", flat=True))
    if not user.is_staff or not set(levels) <= allowed:
        raise ValidationError(_("Choose among the departments this staff member works."),
                              code="foreign_department")
    if not set(levels.values()) <= set(SubscriptionLevel.values):
        raise ValidationError(_("Choose one of the offered levels."), code="level")
    saved = []
    for department_id, level in sorted(levels.items()):
        subscription, _created = StaffSubscription.objects.update_or_create(
            user=user, department_id=department_id, defaults={"level": level})
        saved.append(subscription)
    return saved
