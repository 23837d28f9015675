"""The history of changes: every row change of the tracked models is recorded by
PostgreSQL with who, when and which request; nobody rewrites it; staff read it on the
object's page only with the right to."""

import datetime
from decimal import Decimal

import pghistory.models
import pgtrigger
import pytest
from django.apps import apps
from django.contrib.auth.models import Permission
from django.db import DatabaseError, connection, transaction
from django.test import RequestFactory
from djmoney.money import Money

from accounts.models import Department
from history.middleware import HistoryMiddleware
from history.models import (
    DepartmentMemberEvent,
    PaymentMethodEvent,
    PlanPriceEvent,
    ServiceEvent,
    UserEvent,
)
from history.selectors import object_changes
from services.models import PlanPrice, Service
from tests.factories.accounts import AdminFactory, StaffFactory, UserFactory
from tests.factories.payments import PaymentMethodFactory
from tests.factories.services import PlanFactory, ServiceFactory
from tests.reauth import sign_in_fresh

pytestmark = pytest.mark.django_db


def _in_request(user, path, change):
    """Run ``change`` inside a request that went through the history's middleware."""
    request = RequestFactory().post(path, REMOTE_ADDR="203.0.113.7")
    request.user = user
    HistoryMiddleware(lambda request: change())(request)


def _service_expiry(service):
    service.expires_on = datetime.date(2031, 1, 1)
    service.save()


def _plan_price(price):
    price.price = Money("12.50", price.price.currency)
    price.save()


def _method_fee(method):
    method.fee_percent = Decimal("2.50")
    method.save()


CASES = [
    # what, factory, event model, change, field label, old, new
    ("service expiry", lambda: ServiceFactory(expires_on=datetime.date(2026, 12, 1)),
     ServiceEvent, _service_expiry, "Expires on", "2026-12-01", "2031-01-01"),
    ("plan price", lambda: PlanPrice.objects.get(plan=PlanFactory()),
     PlanPriceEvent, _plan_price, "Price", "$10.00", "$12.50"),
    ("payment method fee", lambda: PaymentMethodFactory(fee_percent=Decimal("0")),
     PaymentMethodEvent, _method_fee, "Fee percent", "0.00", "2.50"),
]


@pytest.mark.parametrize(("what", "make", "event_model", "change", "label", "old", "new"),
                         CASES, ids=[case[0] for case in CASES])
def test_an_update_writes_one_event_with_old_and_new_values_user_and_request(
        what, make, event_model, change, label, old, new):
    obj = make()
    staff = StaffFactory(email="editor@example.com")
    before = event_model.objects.filter(pgh_obj_id=obj.pk).count()

    _in_request(staff, "/staff/some/page/", lambda: change(obj))

    events = event_model.objects.filter(pgh_obj_id=obj.pk).order_by("pgh_id")
    assert events.count() == before + 1
    assert events.last().pgh_label == "update"
    assert events.last().pgh_context.metadata == {
        "user": staff.pk, "url": "/staff/some/page/", "method": "POST", "ip": "203.0.113.7"}
    latest = object_changes(obj)[0]
    assert latest.action == "changed"
    assert latest.who == "editor@example.com"
    assert latest.url == "POST /staff/some/page/"
    assert latest.ip == "203.0.113.7"
    assert [(f.label.capitalize(), f.old, f.new) for f in latest.fields] == [(label, old, new)]


def test_a_bulk_sql_update_of_billing_fields_is_recorded_but_a_status_change_is_not():
    service = ServiceFactory(expires_on=datetime.date(2026, 12, 1))
    with connection.cursor() as cursor:  # as the billing clock writes: raw SQL, no request
        cursor.execute("UPDATE services_service SET expires_on = %s WHERE id = %s",
                       [datetime.date(2027, 1, 1), service.pk])
        cursor.execute("UPDATE services_service SET status = 'suspended' WHERE id = %s",
                       [service.pk])

    labels = list(ServiceEvent.objects.filter(pgh_obj_id=service.pk)
                  .order_by("pgh_id").values_list("pgh_label", "expires_on"))
    assert labels == [("insert", datetime.date(2026, 12, 1)),
                      ("update", datetime.date(2027, 1, 1))]
    assert object_changes(service)[0].who.startswith("the system")


def test_department_membership_is_recorded_on_the_staff_member():
    staff = StaffFactory()
    department = Department.objects.create(name="Billing desk")

    _in_request(AdminFactory(), "/staff/accounts/user/1/change/",
                lambda: staff.groups.add(department))
    staff.groups.remove(department)

    assert list(DepartmentMemberEvent.objects.filter(user_id=staff.pk)
                .values_list("pgh_label", "group_id")) == [("added", department.pk),
                                                           ("removed", department.pk)]
    assert [c.action for c in object_changes(staff)[:2]] == ["removed", "added"]


def test_a_password_hash_never_enters_the_history():
    user = UserFactory()
    user.set_password("a-new-long-password-42")
    user.save()

    assert not any("password" in f.name for f in UserEvent._meta.fields)


@pytest.mark.parametrize("statement", [
    "UPDATE history_serviceevent SET expires_on = '2099-01-01'",
    "DELETE FROM history_serviceevent",
])
def test_events_cannot_be_updated_or_deleted(statement):
    ServiceFactory()
    assert ServiceEvent.objects.count() == 1
    with pytest.raises(DatabaseError, match="append-only"), \
            transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement)

    assert ServiceEvent.objects.count() == 1


def test_every_event_table_is_append_only():
    """A model tracked later gets its table's trigger too (history/migrations/0002)."""
    tables = {model._meta.db_table for model in apps.get_app_config("history").get_models()
              if issubclass(model, pghistory.models.Event)}
    with connection.cursor() as cursor:
        cursor.execute("SELECT tgrelid::regclass::text FROM pg_trigger "
                       "WHERE tgname LIKE '%%_append_only' AND NOT tgisinternal")
        guarded = {table for (table,) in cursor.fetchall()}

    assert len(tables) == 14
    assert tables <= guarded


def test_the_triggers_open_no_subtransaction_per_row():
    """An exception block per row would overflow PostgreSQL's subtransaction cache in the
    clock's bulk updates (history/functions.py); pgtrigger rewrites its function with
    every trigger it installs, so this holds only if ours is installed after it."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT proname, prosrc FROM pg_proc WHERE proname IN "
                       "('_pgtrigger_should_ignore', '_pgh_attach_context')")
        functions = dict(cursor.fetchall())

    assert set(functions) == {"_pgtrigger_should_ignore", "_pgh_attach_context"}
    assert not [name for name, source in functions.items() if "EXCEPTION" in source.upper()]


def test_pgtrigger_ignore_still_means_what_it_says():
    service = ServiceFactory(expires_on=datetime.date(2026, 12, 1))
    trigger = next(t for t in pgtrigger.registered() if t[0]._meta.db_table ==
                   "services_service" and t[1].name == "update_update")[1]

    with pgtrigger.ignore(f"history.Service:{trigger.name}"):
        Service.objects.filter(pk=service.pk).update(expires_on=datetime.date(2027, 1, 1))
    Service.objects.filter(pk=service.pk).update(expires_on=datetime.date(2028, 1, 1))

    assert list(ServiceEvent.objects.filter(pgh_obj_id=service.pk).order_by("pgh_id")
                .values_list("expires_on", flat=True)) == [datetime.date(2026, 12, 1),
                                                           datetime.date(2028, 1, 1)]


# The staff page ---------------------------------------------------------------------
def _staff_with(*codenames):
    staff = StaffFactory()
    for dotted in codenames:
        app_label, codename = dotted.split(".")
        staff.user_permissions.add(Permission.objects.get(content_type__app_label=app_label,
                                                          codename=codename))
    return staff


def test_staff_with_the_right_see_old_and_new_values_on_the_object_page(client):
    admin = AdminFactory(email="boss@example.com")
    service = ServiceFactory(expires_on=datetime.date(2026, 12, 1))
    client.force_login(admin)
    client.post(f"/staff/payments/paymentmethod/{PaymentMethodFactory().pk}/change/", {})
    _in_request(admin, f"/staff/services/service/{service.pk}/change/",
                lambda: _service_expiry(service))
    client.force_login(_staff_with("history.view_events", "services.view_service"))

    page = client.get(f"/staff/services/service/{service.pk}/history/")

    assert page.status_code == 200
    html = page.content.decode()
    assert "History of changes" in html
    assert "boss@example.com" in html
    assert "2026-12-01" in html
    assert "2031-01-01" in html


@pytest.mark.parametrize("codenames", [
    ("services.view_service",),                 # may see the service, not its history
    ("history.view_events",),                   # may see histories, not services
    (),
], ids=["no-history-right", "no-model-right", "no-right"])
def test_staff_without_the_rights_get_403(client, codenames):
    service = ServiceFactory()
    client.force_login(_staff_with(*codenames))

    assert client.get(f"/staff/services/service/{service.pk}/history/").status_code == 403


def test_a_change_through_the_staff_panel_is_recorded_with_its_request(client):
    method = PaymentMethodFactory(name="Card", fee_percent=Decimal("0"))
    admin = AdminFactory()
    sign_in_fresh(client, admin)  # payment methods are changed only after re-authenticating
    data = {field: value for field, value in [
        ("company", method.company_id), ("name", "Card"), ("gateway", method.gateway),
        ("currency", method.currency), ("minimum", "5.00"), ("maximum", "1000.00"),
        ("fee_percent", "3.00"), ("fee_fixed", "0"), ("for_topup", "on"),
        ("for_direct_payment", "on"), ("can_save", "on"), ("is_enabled", "on"),
        ("settings", "{}"), ("position", "0")]}

    response = client.post(f"/staff/payments/paymentmethod/{method.pk}/change/", data)

    assert response.status_code == 302
    event = PaymentMethodEvent.objects.filter(pgh_obj_id=method.pk).latest("pgh_id")
    assert event.fee_percent == Decimal("3.00")
    assert event.pgh_context.metadata["user"] == admin.pk
    assert event.pgh_context.metadata["url"] == f"/staff/payments/paymentmethod/{method.pk}/change/"
    assert Service.objects.count() == 0
