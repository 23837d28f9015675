"""Every /staff/ page, for every default department: a page opens only to those whose
department has the named permission for it.

The pages are found from the staff panel's registry and URLconf, so a new model or a new
custom view is walked without being listed here; a custom view missing from
``CUSTOM_VIEWS`` fails the walk until someone says which permission opens it. What each
department may open is worked out from its definition (``DEFAULT_DEPARTMENTS``) by the
rules stated below, not asked of the staff panel.
"""

from __future__ import annotations

from decimal import Decimal
from io import StringIO

import pytest
from allauth.account.models import EmailAddress
from django.contrib import admin
from django.core.management import call_command
from django.test import Client as Browser
from django.urls import reverse
from django.utils import timezone
from djmoney.money import Money

from accounts.models import Client, Department, MessageTemplate, User
from accounts.staff_roles import DEFAULT_DEPARTMENTS, department_sync
from billing.models import (
    AccountKind,
    DocumentTemplate,
    LedgerAccount,
    PromisedPayment,
    Transaction,
)
from cart.models import AgreementAcceptance, Order, PromoRedemption
from payments.models import Payment, PaymentStatus, WebhookEvent
from payments.refunds import refund_payment
from services.models import Service
from support.inbound import receive
from support.models import AnswerTemplate, Ticket
from tests.factories.accounts import AdminFactory, ClientUserFactory, StaffFactory
from tests.factories.cart import AgreementFactory, PromoCodeFactory

pytestmark = pytest.mark.django_db

NO_DEPARTMENT = "(no department)"
ADMINISTRATOR = "(administrator)"
CLIENT_USER = "(client user)"

# Records that nobody writes by hand: the clock, the ledger, gateways and the state machine
# write them; staff only look (and act through the named actions).
NEVER_ADDED = {
    "accounts.actionlog", "accounts.notification",
    "services.service", "services.serviceoperation", "services.servicehistory",
    "billing.ledgeraccount", "billing.transaction", "billing.charge", "billing.invoice",
    "billing.creditnote", "billing.closingdocument", "billing.promisedpayment",
    "payments.payment", "payments.refund", "payments.savedpaymentmethod",
    "payments.webhookevent", "payments.sandboxtransaction",
    "cart.order", "cart.promoredemption", "cart.agreementacceptance",
    "engine.billingday", "support.ticket", "support.inboundemail", "support.staffmail",
    "support.slaescalation",
}
NEVER_DELETED = NEVER_ADDED - {"payments.savedpaymentmethod"}
# Rates and currencies are kept (issue 15): a currency is switched off, a rate corrected.
NEVER_DELETED |= {"billing.currency", "billing.exchangerate"}
# Only administrators open these, whatever permissions a department holds.
ADMINISTRATORS_ONLY = {"accounts.department", "billing.documenttemplate"}
# Read-only records: even the change permission only lets one look.
NEVER_CHANGED = {"accounts.actionlog", "accounts.notification", "services.servicehistory",
                 "billing.transaction", "billing.charge", "billing.creditnote",
                 "billing.closingdocument", "billing.promisedpayment", "payments.refund",
                 "payments.webhookevent", "payments.sandboxtransaction", "cart.order",
                 "cart.promoredemption", "cart.agreementacceptance", "engine.billingday",
                 "support.inboundemail", "support.staffmail",
                 "support.slaescalation"}

# Custom staff views: (url name, kwargs beyond the object) -> (permission, status when
# allowed). A GET of an action's address only shows its form or goes back to the object.
CUSTOM_VIEWS = {
    ("accounts_client_enter", ()): ("accounts.impersonate_client", 302),
    ("auth_user_password_change", ()): ("accounts.change_user", 200),
    ("accounts_user_reset_second_factor", ()): ("accounts.reset_second_factor", 200),
    ("services_service_do", (("action", "activate"),)): ("services.change_service", 302),
    ("services_service_billing", (("action", "transfer"),)):
        ("services.transfer_service", 200),
    ("services_service_billing", (("action", "extend-free"),)):
        ("services.extend_service_free", 200),
    ("services_service_billing", (("action", "suspension-hold"),)):
        ("services.hold_service_suspension", 200),
    ("services_service_billing", (("action", "auto-renew"),)):
        ("services.set_service_auto_renew", 200),
    ("services_service_billing", (("action", "renew"),)):
        ("services.renew_service_paid", 200),
    ("billing_ledgeraccount_adjust", ()): ("billing.add_transaction", 200),
    ("billing_invoice_pdf", ()): ("billing.view_invoice", 200),
    ("billing_creditnote_pdf", ()): ("billing.view_creditnote", 200),
    ("billing_closingdocument_pdf", ()): ("billing.view_closingdocument", 200),
    ("payments_payment_refund", ()): ("payments.add_refund", 200),
    # Recording a payment received by hand: no client 0, so 404 once the right is checked.
    ("payments_payment_record", (("client_id", 0),)): ("payments.record_payment", 404),
    # A GET goes back to the ticket; no attachment 0, so 404 once the right is checked.
    ("support_ticket_reply", ()): ("support.reply_ticket", 302),
    ("support_ticket_attachment", (("attachment_id", 0),)): ("support.view_ticket", 404),
    ("support_inboundemail_raw", ()): ("support.download_inboundemail", 200),
    # The back office: a client's page; a GET of its note form goes back to the page.
    ("accounts_client_overview", ()): ("accounts.view_client", 200),
    ("accounts_client_note", ()): ("backoffice.add_clientnote", 302),
    # Statistics → Current activity: a page of the staff panel itself (not of a model).
    ("current_activity", ()): ("backoffice.view_current_activity", 200),
    # The answer form: a GET of a template's text goes back to the ticket; the presence
    # poll's GET shows who else is there.
    ("support_ticket_answer_template", ()): ("support.reply_ticket", 302),
    ("support_ticket_presence", ()): ("support.reply_ticket", 200),
    # Ticket e-mail subscriptions: every member of staff sets their own (None: no
    # permission beyond being staff); another's takes the permission (no user 0: 404).
    ("support_staffmail_subscriptions", ()): (None, 200),
    ("support_staffmail_subscriptions_user", (("user_id", 0),)):
        ("support.change_staffsubscription", 404),
    # The E-mail screen's decisions: a GET shows the confirmation page (or says why there
    # is nothing to decide).
    ("support_inboundemail_ticket", ()): ("support.decide_inboundemail", 200),
    ("support_inboundemail_reply", ()): ("support.decide_inboundemail", 200),
    ("support_inboundemail_discard", ()): ("support.decide_inboundemail", 200),
    ("support_inboundemail_block", ()): ("support.decide_inboundemail", 200),
    ("support_slapolicy_report", ()): ("support.view_support_report", 200),
    # The queue (issue 14): each page shows its form on a GET.
    ("support_ticket_transfer", ()): ("support.transfer_ticket", 200),
    ("support_ticket_merge", ()): ("support.merge_ticket", 200),
    # A GET goes back to the gateway; only a POST connects to the mailbox.
    ("support_mailgateway_test", ()): ("support.test_mailgateway", 302),
    # Notifications: an announcement as clients see it, and whom it reaches.
    ("support_announcement_preview", ()): ("support.view_announcement", 200),
    # Exchange rates (issue 15): the CSV import shows its form on a GET.
    ("billing_exchangerate_import", ()): ("billing.add_exchangerate", 200),
}
# The walked object of these is shared with everyone: changing or deleting it needs this
# permission beyond the model's own (a personal one is its owner's).
SHARED_OBJECT = {"support.answertemplate": "support.manage_shared_templates"}
# Views outside the staff panel's registry, by path: permission, status when allowed.
OTHER_STAFF_PATHS = {
    "cart_price_preview": ("services.view_tariffplan", 200),
}
STANDARD = {"changelist", "add", "change", "history", "delete"}


def _perms(who: str) -> set[str] | None:
    """The permissions a walker holds; None for an administrator (all of them)."""
    if who == ADMINISTRATOR:
        return None
    if who in (NO_DEPARTMENT, CLIENT_USER):
        return set()
    return set(DEFAULT_DEPARTMENTS[who])


def _has(perms: set[str] | None, permission: str | None) -> bool:
    return perms is None or permission is None or permission in perms


def _expected_standard(perms, label: str, kind: str) -> int:
    app, model = label.split(".")
    if label in ADMINISTRATORS_ONLY and perms is not None:
        return 403
    can_look = _has(perms, f"{app}.view_{model}") or (
        _has(perms, f"{app}.change_{model}") and label not in NEVER_CHANGED)
    allowed = {
        "changelist": can_look, "change": can_look,
        # An object's history of changes: who may see the object and histories at all.
        "history": can_look and _has(perms, "history.view_events"),
        "add": label not in NEVER_ADDED and _has(perms, f"{app}.add_{model}"),
        "delete": label not in NEVER_DELETED and _has(perms, f"{app}.delete_{model}")
        and (label not in SHARED_OBJECT or _has(perms, SHARED_OBJECT[label])),
    }[kind]
    return 200 if allowed else 403


def _object_for(model):
    if model is LedgerAccount:
        return LedgerAccount.objects.filter(kind=AccountKind.CLIENT).order_by("pk").first()
    if model is User:
        # A client's user: a staff member's own pages (the second factor's reset) are for
        # administrators only, which the department walk is not about.
        return User.objects.filter(is_staff=False).order_by("pk").first()
    if model is Service:
        return Service.objects.exclude(status="deleted").order_by("pk").first()
    if model is AnswerTemplate:
        return AnswerTemplate.objects.filter(scope="everyone").order_by("pk").first()
    return model._default_manager.order_by("pk").first()


def _walk_targets():
    """(what, url, expected status by walker) for every staff page."""
    targets, unknown, missing = [], [], []
    for model, model_admin in admin.site._registry.items():
        label = model._meta.label_lower
        obj = _object_for(model)
        for pattern in model_admin.get_urls():
            name = pattern.name
            if not name:
                continue  # the bare "<id>/" address only redirects to the change page
            prefix = f"{model._meta.app_label}_{model._meta.model_name}_"
            kind = name[len(prefix):] if name.startswith(prefix) else name
            converters = set(pattern.pattern.converters)
            id_kwarg = next((k for k in ("object_id", "pk", "id") if k in converters), None)
            if id_kwarg and obj is None:
                missing.append(label)
                continue
            if kind in STANDARD:
                kwargs = {id_kwarg: obj.pk} if id_kwarg else {}
                targets.append((f"{label} {kind}", reverse(f"admin:{name}", kwargs=kwargs),
                                lambda perms, label=label, kind=kind:
                                _expected_standard(perms, label, kind)))
                continue
            entries = [(extra, rule) for (view, extra), rule in CUSTOM_VIEWS.items()
                       if view == name]
            if not entries:
                unknown.append(name)
            for extra, (permission, status) in entries:
                kwargs = {id_kwarg: obj.pk, **dict(extra)} if id_kwarg else dict(extra)
                targets.append((f"{name} {dict(extra)}", reverse(f"admin:{name}",
                                                                  kwargs=kwargs),
                                lambda perms, permission=permission, status=status:
                                status if _has(perms, permission) else 403))
    # The panel's own pages (not of a model) that CUSTOM_VIEWS names.
    site_names = {getattr(pattern, "name", None) for pattern in admin.site.get_urls()}
    for (name, extra), (permission, status) in CUSTOM_VIEWS.items():
        if name in site_names:
            targets.append((name, reverse(f"admin:{name}", kwargs=dict(extra)),
                            lambda perms, permission=permission, status=status:
                            status if _has(perms, permission) else 403))
    plan_id = Service.objects.order_by("pk").first().plan_id
    for name, (permission, status) in OTHER_STAFF_PATHS.items():
        targets.append((name, reverse(name, args=[plan_id]),
                        lambda perms, permission=permission, status=status:
                        status if _has(perms, permission) else 403))
    return targets, unknown, sorted(set(missing))


def _complete_the_world() -> None:
    """The demo has most kinds of record; these it has not."""
    demo = Client.objects.get(email="client@example.com")
    user = demo.memberships.get(is_owner=True).user
    EmailAddress.objects.get_or_create(user=user, email=user.email,
                                       defaults={"verified": True, "primary": True})
    MessageTemplate.objects.create(event="walk.test", subject="Subject", body="Body")
    DocumentTemplate.objects.create(kind=DocumentTemplate.Kind.INVOICE, body="{{ number }}")
    WebhookEvent.objects.create(gateway="stripe", event_id="evt_walk", event_type="walk",
                                payload={})
    order = Order.objects.order_by("pk").first()
    PromoRedemption.objects.create(promo=PromoCodeFactory(), client=order.client, order=order,
                                   amount=Decimal("1.00"))
    AgreementAcceptance.objects.create(agreement=AgreementFactory(), version=1, client=demo,
                                       user=user)
    PromisedPayment.objects.create(
        client=demo, amount=Decimal("5.00"), currency=order.currency,
        due_on=timezone.localdate(), credit_transaction=Transaction.objects.filter(
            promised_payment__isnull=True).order_by("pk").first())
    receive(b"From: someone@elsewhere.example\r\nSubject: Walk\r\n\r\nHello\r\n",
            route="pipe", now=timezone.now())
    # Every department works the walked ticket's queue, so its pages open by permission
    # alone; who sees which queue is tests/support/test_queue.py's.
    Ticket.objects.order_by("pk").first().department.staff_departments.add(
        *Department.objects.all())
    card = Payment.objects.filter(status=PaymentStatus.SUCCEEDED,
                                  method__gateway="sandbox").order_by("pk").first()
    refund_payment(payment=card, amount=Money("1.00", card.currency), reason="Walk",
                   actor=AdminFactory(), idempotency_key="walk")


def _walker(who: str):
    if who == ADMINISTRATOR:
        return AdminFactory()
    if who == CLIENT_USER:
        return ClientUserFactory().user
    employee = StaffFactory()
    if who != NO_DEPARTMENT:
        employee.groups.add(department_sync(name=who, codenames=DEFAULT_DEPARTMENTS[who]))
    return employee


def test_every_staff_page_opens_only_to_departments_with_its_permission():
    call_command("seed_demo", stdout=StringIO())
    _complete_the_world()
    targets, unknown, missing = _walk_targets()

    assert (unknown, missing) == ([], []), "custom views without a named permission in " \
        "CUSTOM_VIEWS / models without an object to walk their pages with"
    assert len(targets) > 150
    walkers = [*DEFAULT_DEPARTMENTS, NO_DEPARTMENT, ADMINISTRATOR, CLIENT_USER]
    wrong = []
    for who in walkers:
        browser = Browser()
        browser.force_login(_walker(who))
        perms = _perms(who)
        for what, url, expected_for in targets:
            expected = 302 if who == CLIENT_USER else expected_for(perms)
            got = browser.get(url).status_code
            if got != expected:
                wrong.append((who, what, url, expected, got))
        if who == CLIENT_USER:
            assert "/staff/login/" in browser.get(targets[0][1])["Location"] or \
                "login" in browser.get(targets[0][1])["Location"]
    assert wrong == []
