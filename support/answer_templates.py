"""Answer templates: who sees and edits which, and their text filled in for a ticket.

A template's text is staff input: it is never given to Django's template engine (which
would run its tags and reach any attribute of what it is given). Only the variables below
are replaced, by a single pass over the text; anything else, ``{% tags %}`` and unknown
``{{ names }}`` included, stays as it was written.

Who sees a template (its scope):

==========  =====================================================================
scope       seen by
==========  =====================================================================
personal    its owner only
department  staff who work that support department's queue (administrators: all)
everyone    all staff who answer tickets
==========  =====================================================================

Who edits it: its owner edits a personal one; a shared one (department, everyone) needs
the ``support.manage_shared_templates`` permission and, for a department, to work its queue.
"""

from __future__ import annotations

import re

from django.db.models import Q, QuerySet

from accounts.models import User
from support.models import AnswerTemplate, TemplateScope, Ticket
from support.selectors import staff_support_departments

MANAGE_SHARED = "support.manage_shared_templates"
VARIABLES = ("client_name", "service_name", "ticket_number", "staff_name")
VARIABLE_RE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


def answer_text(body: str, values: dict[str, str]) -> str:
    """The template's text with each known ``{{ variable }}`` replaced by its value; a value
    is inserted as it is (never read again for variables)."""

    def value_of(found: re.Match) -> str:
        name = found.group(1)
        return str(values[name]) if name in VARIABLES and name in values else found.group(0)

    return VARIABLE_RE.sub(value_of, body)


def ticket_values(ticket: Ticket, *, staff: User) -> dict[str, str]:
    return {
        "client_name": ticket.client.name,
        "service_name": ticket.service.name if ticket.service_id else "",
        "ticket_number": ticket.display_number,
        "staff_name": staff.get_full_name() or staff.email,
    }


def answer_for_ticket(template: AnswerTemplate, *, ticket: Ticket, staff: User) -> str:
    return answer_text(template.body, ticket_values(ticket, staff=staff))


def answer_templates_for(user: User) -> QuerySet[AnswerTemplate]:
    """The templates a member of staff may use: their own, their departments', everyone's."""
    return AnswerTemplate.objects.filter(
        Q(scope=TemplateScope.EVERYONE)
        | Q(scope=TemplateScope.PERSONAL, owner=user)
        | Q(scope=TemplateScope.DEPARTMENT,
            department__in=staff_support_departments(user))
    ).select_related("department")


def template_editable_by(template: AnswerTemplate, user: User) -> bool:
    if user.is_superuser:
        return True
    if template.scope == TemplateScope.PERSONAL:
        return template.owner_id == user.pk
    if not user.has_perm(MANAGE_SHARED):
        return False
    if template.scope == TemplateScope.DEPARTMENT:
        return staff_support_departments(user).filter(pk=template.department_id).exists()
    return True


def scopes_for(user: User) -> list[str]:
    """The scopes a member of staff may give a template they write."""
    if user.is_superuser or user.has_perm(MANAGE_SHARED):
        return [TemplateScope.PERSONAL, TemplateScope.DEPARTMENT, TemplateScope.EVERYONE]
    return [TemplateScope.PERSONAL]
