"""Departments of staff and the rights each gets by default.

Rights are Django permissions (``app_label.codename``), so the staff panel checks them
on every page. Permissions of models that do not exist yet are skipped, so each
later layer only adds its codenames here.
"""

from __future__ import annotations

from django.contrib.auth.models import Permission
from django.db import transaction
from django.db.models import Q

from accounts.models import Department

VIEW, CHANGE, ADD, DELETE = "view", "change", "add", "delete"


def _model_perms(model: str, *actions: str) -> list[str]:
    app_label, name = model.split(".")
    return [f"{app_label}.{action}_{name}" for action in actions]


# Support sees clients and their services but no money; accounting handles the money.
DEFAULT_DEPARTMENTS: dict[str, list[str]] = {
    "Technical support": [
        *_model_perms("accounts.client", VIEW),
        *_model_perms("accounts.clientuser", VIEW),
        *_model_perms("services.service", VIEW, CHANGE),
        *_model_perms("services.serviceoperation", VIEW, CHANGE),
        *_model_perms("services.servicehistory", VIEW),
        # Usage feeds overage charges (money): support looks, modules write it.
        *_model_perms("services.serviceusage", VIEW),
        "accounts.impersonate_client",
        "accounts.reset_second_factor",
        "history.view_events",  # of what the department may see anyway
        *_model_perms("support.ticket", VIEW, CHANGE),
        "support.reply_ticket",
        *_model_perms("support.category", VIEW),
        *_model_perms("support.supportdepartment", VIEW),
        # Received e-mail: unknown senders to decide on; the raw source is evidence.
        *_model_perms("support.inboundemail", VIEW),
        "support.download_inboundemail",
        # SLA (issue 14): the team reads its targets, calendars, escalations and report.
        *_model_perms("support.businesscalendar", VIEW),
        *_model_perms("support.slapolicy", VIEW),
        *_model_perms("support.slaescalation", VIEW),
        "support.view_support_report",
        # The queue (issue 14): move tickets between departments, merge a client's two.
        "support.transfer_ticket",
        "support.merge_ticket",
        # Notifications: announcements to clients, which may pause new tickets (issue 14).
        *_model_perms("support.announcement", VIEW, ADD, CHANGE, DELETE),
    ],
    "Accounting": [
        *_model_perms("accounts.client", VIEW, CHANGE),
        *_model_perms("accounts.payer", VIEW, CHANGE),
        *_model_perms("accounts.company", VIEW),
        *_model_perms("accounts.provider", VIEW),
        *_model_perms("accounts.clientgroup", VIEW),
        *_model_perms("services.tariffplan", VIEW),
        *_model_perms("services.service", VIEW),
        # A service's billing facts change only through these actions (services.billing_facts).
        "services.transfer_service",
        "services.extend_service_free",
        "services.renew_service_paid",
        "services.hold_service_suspension",
        "services.set_service_auto_renew",
        *_model_perms("billing.ledgeraccount", VIEW, CHANGE),
        *_model_perms("billing.transaction", VIEW, ADD),
        *_model_perms("billing.charge", VIEW),
        *_model_perms("billing.invoice", VIEW, CHANGE),
        *_model_perms("billing.creditnote", VIEW),
        *_model_perms("billing.closingdocument", VIEW),
        *_model_perms("billing.taxrate", VIEW),
        *_model_perms("engine.billingday", VIEW),
        *_model_perms("billing.promisedpayment", VIEW),
        *_model_perms("accounts.notification", VIEW),
        *_model_perms("payments.payment", VIEW, CHANGE),
        *_model_perms("payments.paymentmethod", VIEW),
        *_model_perms("payments.refund", VIEW, ADD),
        *_model_perms("payments.savedpaymentmethod", VIEW),
        *_model_perms("payments.webhookevent", VIEW),
        "history.view_events",
        *_model_perms("support.ticket", VIEW),
    ],
    "Sales": [
        *_model_perms("accounts.client", VIEW, ADD, CHANGE),
        *_model_perms("accounts.clientgroup", VIEW, ADD, CHANGE),
        *_model_perms("accounts.clientuser", VIEW),
        *_model_perms("services.service", VIEW),
        "accounts.impersonate_client",
        "history.view_events",
        *_model_perms("support.ticket", VIEW),
    ],
}

# Spam rules and decisions on unknown senders' mail (the E-mail screen) are first-line
# support's: they read the mail and know the clients.
DEFAULT_DEPARTMENTS["Technical support"] += [
    *_model_perms("support.spamrule", VIEW, ADD, CHANGE, DELETE),
    "support.decide_inboundemail",
]


# Answer templates (issue 14): support writes its own; sharing one with a department or
# everyone (support.manage_shared_templates) is for whom an administrator gives it.
DEFAULT_DEPARTMENTS["Technical support"] += [
    *_model_perms("support.answertemplate", VIEW, ADD, CHANGE, DELETE),
]


# Gateways (issue 14, e-mail in by IMAP): support sees how the department mailboxes are
# polled and may test a connection; changing one (it holds a mailbox password) is an
# administrator's job.
DEFAULT_DEPARTMENTS["Technical support"] += [
    *_model_perms("support.mailgateway", VIEW),
    "support.test_mailgateway",
]


def permissions_for(codenames: list[str]) -> list[Permission]:
    query = Q(pk__in=[])
    for dotted in codenames:
        app_label, codename = dotted.split(".")
        query |= Q(content_type__app_label=app_label, codename=codename)
    return list(Permission.objects.filter(query))


@transaction.atomic
def department_sync(*, name: str, codenames: list[str]) -> Department:
    """Create the department if missing and give it exactly these rights."""
    department, _ = Department.objects.get_or_create(name=name)
    department.permissions.set(permissions_for(codenames))
    return department


# The back office (issue 15): every department reads and writes staff notes on a client's
# page (append-only: nobody edits or deletes one).
for _codenames in DEFAULT_DEPARTMENTS.values():
    _codenames += ["backoffice.view_clientnote", "backoffice.add_clientnote"]
# Support mail out (issue 14, outgoing): support sees what was mailed to staff about the
# tickets of its queues (the list is scoped to them), failures and their errors included.
DEFAULT_DEPARTMENTS["Technical support"] += [*_model_perms("support.staffmail", VIEW)]
# Manual payments (issue 15): accounting records the payments received outside a gateway
# (cash, a bank wire), as it confirms bank transfers.
DEFAULT_DEPARTMENTS["Accounting"] += ["payments.record_payment"]
# Currencies and exchange rates (issue 15): accounting enters and corrects rates (each
# correction goes into the action log) and reads the currency directory.
DEFAULT_DEPARTMENTS["Accounting"] += [
    *_model_perms("billing.exchangerate", VIEW, ADD, CHANGE),
    *_model_perms("billing.currency", VIEW),
]
