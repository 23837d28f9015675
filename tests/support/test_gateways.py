"""Gateways in the staff panel: administrators set a department's mailbox up (its password
encrypted, never shown back), support staff watch the polls and test a connection, and
every connection is written down before it is made."""

import io
from datetime import timedelta

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection
from django.test import override_settings
from django.urls import reverse

from accounts.models import ActionLog
from accounts.staff_roles import DEFAULT_DEPARTMENTS, department_sync
from support.mailboxes import gateway_poll, quiet_polls_prune
from support.models import MailGateway, MailGatewayPoll
from tests.factories.accounts import AdminFactory, StaffFactory
from tests.factories.support import WHEN, MailGatewayFactory, SupportDepartmentFactory
from tests.reauth import sign_in_fresh
from tests.support.dovecot import PASSWORD, dovecot_server

pytestmark = pytest.mark.django_db

SECRET = "Mailbox-Pa55word!"


@pytest.fixture(scope="module")
def dovecot():
    with dovecot_server() as server:
        yield server


@pytest.fixture
def dovecot_of_its_own():
    """For a test that fails a login: Dovecot slows the next logins from the address by
    seconds, which the other tests need not wait for."""
    with dovecot_server() as server:
        yield server


def _stored_password(gateway) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT password FROM support_mailgateway WHERE id = %s", [gateway.pk])
        return cursor.fetchone()[0]


def _employee(department: str):
    employee = StaffFactory()
    employee.groups.add(department_sync(name=department,
                                        codenames=DEFAULT_DEPARTMENTS[department]))
    return employee


@pytest.fixture
def admin_client(client):
    sign_in_fresh(client, AdminFactory())  # a mailbox password changes after re-auth
    return client


def _form(gateway=None, **changes):
    data = {"department": gateway.department_id if gateway else
            SupportDepartmentFactory().pk,
            "host": "imap.example.net", "port": "993", "security": "ssl",
            "username": "support@example.net", "folder": "INBOX", "is_enabled": "on",
            "mark_seen": "on", "replace_password": ""}
    if gateway is not None:
        data.update(host=gateway.host, port=str(gateway.port), security=gateway.security,
                    username=gateway.username, folder=gateway.folder)
    data.update(changes)
    return data


def test_the_password_is_stored_encrypted_and_read_back_in_plain():
    gateway = MailGatewayFactory(password=SECRET)
    assert SECRET not in _stored_password(gateway)
    assert MailGateway.objects.get(pk=gateway.pk).password == SECRET


def test_rotating_the_key_re_encrypts_mailbox_passwords_too():
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    with override_settings(FIELD_ENCRYPTION_KEYS=[old]):
        gateway = MailGatewayFactory(password=SECRET)
    with override_settings(FIELD_ENCRYPTION_KEYS=[new, old]):
        call_command("rotate_secrets", stdout=io.StringIO())
    with override_settings(FIELD_ENCRYPTION_KEYS=[new]):  # the old key gone
        assert MailGateway.objects.get(pk=gateway.pk).password == SECRET


def test_an_administrator_adds_a_gateway_and_the_password_is_never_shown(admin_client):
    url = reverse("admin:support_mailgateway_add")
    response = admin_client.post(url, _form(replace_password=SECRET))

    assert response.status_code == 302, response.context["adminform"].form.errors
    gateway = MailGateway.objects.get()
    assert (gateway.host, gateway.password, gateway.last_uid) == ("imap.example.net", SECRET, 0)
    page = admin_client.get(reverse("admin:support_mailgateway_change", args=[gateway.pk]))
    assert SECRET not in page.text
    assert "Set. Leave empty to keep it." in page.text
    log = ActionLog.objects.filter(action="mailgateway.created_by_staff")
    assert log.exists()
    assert SECRET not in str(list(ActionLog.objects.values_list("details", flat=True)))


def test_an_empty_password_keeps_the_one_stored_and_a_new_one_replaces_it(admin_client):
    gateway = MailGatewayFactory(password=SECRET, security="ssl", host="imap.example.net")
    url = reverse("admin:support_mailgateway_change", args=[gateway.pk])

    admin_client.post(url, _form(gateway, folder="Support"))
    kept = MailGateway.objects.get(pk=gateway.pk)
    admin_client.post(url, _form(gateway, replace_password="fresh-one"))
    replaced = MailGateway.objects.get(pk=gateway.pk)

    assert (kept.folder, kept.password) == ("Support", SECRET)
    assert replaced.password == "fresh-one"
    changes = ActionLog.objects.filter(action="mailgateway.changed_by_staff").latest("pk")
    assert changes.details["changes"]["replace_password"] == ["(hidden)", "(hidden)"]


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"replace_password": ""}, "replace_password", "Enter the mailbox's password."),
    ({"host": "imap.example.net/evil", "replace_password": "x"}, "host", "host name"),
    ({"host": "user@imap.example.net", "replace_password": "x"}, "host", "host name"),
    ({"security": "none", "replace_password": "x"}, "security", "localhost"),
    ({"port": "70000", "replace_password": "x"}, "port", "65535"),
    ({"folder": "INBOX\r\nA1 DELETE INBOX", "replace_password": "x"}, "folder", "folder"),
])
def test_bad_settings_get_a_clear_message_and_change_nothing(admin_client, changes, field,
                                                             message):
    response = admin_client.post(reverse("admin:support_mailgateway_add"), _form(**changes))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert message in " ".join(errors[field])
    assert not MailGateway.objects.exists()


def test_a_plain_connection_to_this_machine_is_allowed(admin_client):
    response = admin_client.post(reverse("admin:support_mailgateway_add"), _form(
        host="127.0.0.1", port="143", security="none", replace_password="x"))
    assert response.status_code == 302


def test_support_sees_gateways_but_may_not_change_them(client):
    gateway = MailGatewayFactory(password=SECRET)
    employee = _employee("Technical support")
    sign_in_fresh(client, employee)
    url = reverse("admin:support_mailgateway_change", args=[gateway.pk])

    assert client.get(reverse("admin:support_mailgateway_changelist")).status_code == 200
    page = client.get(url)
    assert page.status_code == 200
    assert SECRET not in page.text
    assert "Test connection" in page.text
    assert client.post(url, _form(gateway, folder="Elsewhere")).status_code == 403
    assert client.get(reverse("admin:support_mailgateway_add")).status_code == 403
    assert MailGateway.objects.get(pk=gateway.pk).folder == gateway.folder


def test_accounting_sees_no_gateways(client):
    gateway = MailGatewayFactory()
    client.force_login(_employee("Accounting"))
    assert client.get(reverse("admin:support_mailgateway_changelist")).status_code == 403
    assert client.post(reverse("admin:support_mailgateway_test",
                               args=[gateway.pk])).status_code == 403
    assert not MailGatewayPoll.objects.exists()


def test_opening_the_test_address_connects_to_nothing(client):
    gateway = MailGatewayFactory()
    client.force_login(_employee("Technical support"))
    response = client.get(reverse("admin:support_mailgateway_test", args=[gateway.pk]))
    assert response.status_code == 302
    assert not MailGatewayPoll.objects.exists()


def test_support_tests_a_connection_which_is_written_down_and_logged(client, dovecot):
    gateway = MailGatewayFactory(host=dovecot.host, port=dovecot.port, password=PASSWORD,
                                 folder=dovecot.new_folder())
    employee = _employee("Technical support")
    client.force_login(employee)

    response = client.post(reverse("admin:support_mailgateway_test", args=[gateway.pk]),
                           follow=True)

    assert "Connected and signed in. 0 message(s) in" in response.text
    poll = MailGatewayPoll.objects.get()
    assert (poll.kind, poll.status, poll.fetched) == ("test", "succeeded", 0)
    assert employee.email in poll.reason
    entry = ActionLog.objects.get(action="mailgateway.connection_tested")
    assert (entry.actor, entry.details["result"]) == (employee, "succeeded")
    gateway.refresh_from_db()
    assert (gateway.last_uid, gateway.uidvalidity) == (0, None)  # a test takes nothing
    assert "Connection test" in client.get(
        reverse("admin:support_mailgateway_change", args=[gateway.pk])).text


def test_a_failed_connection_test_says_why(client, dovecot_of_its_own):
    server = dovecot_of_its_own
    gateway = MailGatewayFactory(host=server.host, port=server.port, password="wrong",
                                 folder=server.new_folder())
    client.force_login(_employee("Technical support"))

    response = client.post(reverse("admin:support_mailgateway_test", args=[gateway.pk]),
                           follow=True)

    assert "The connection test failed: The server refused the user name or password." \
        in response.text
    assert MailGatewayPoll.objects.get().status == "failed"


def test_quiet_polls_are_forgotten_after_a_week_and_the_others_kept():
    gateway = MailGatewayFactory()

    def poll(days_ago, **fields):
        return MailGatewayPoll.objects.create(
            gateway=gateway, kind=fields.pop("kind", "poll"), reason="beat",
            started_at=WHEN - timedelta(days=days_ago),
            status=fields.pop("status", "succeeded"), **fields)

    old_quiet, recent_quiet = poll(8), poll(6)
    old_took_mail, old_failed, old_test = poll(8, fetched=3), poll(8, status="failed"), \
        poll(8, kind="test")

    assert quiet_polls_prune(now=WHEN) == 1
    assert set(MailGatewayPoll.objects.all()) == {recent_quiet, old_took_mail, old_failed,
                                                  old_test}
    assert not MailGatewayPoll.objects.filter(pk=old_quiet.pk).exists()


def test_a_gateway_deleted_since_the_beat_listed_it_is_no_error():
    assert gateway_poll(gateway_id=987654, now=WHEN, reason="beat") is None
