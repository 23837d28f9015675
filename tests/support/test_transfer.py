"""Moving a ticket to another department: a note says who and why, once."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts.models import ActionLog
from support import tickets
from support.models import MessageKind, Ticket
from support.transfer import ticket_transfer
from tests.factories.accounts import ClientFactory
from tests.factories.support import WHEN
from tests.support.staff import billing_employee, employee, queues, ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def setting():
    technical, billing = queues()
    me = employee()
    item = ticket(ClientFactory(), technical, "Is this a billing question?")
    tickets.ticket_reply_staff(ticket=item, user=me, body="Let me check.", now=WHEN)
    return technical, billing, me, item


def _notes(item):
    return list(item.messages.filter(kind=MessageKind.INTERNAL_NOTE)
                .values_list("body_text", flat=True))


def test_transfer_moves_notes_and_logs_once(client, setting):
    _technical, billing, me, item = setting
    client.force_login(me)
    url = reverse("admin:support_ticket_transfer", args=[item.pk])
    assert client.get(url).status_code == 200
    response = client.post(url, {"department": billing.pk, "reason": "About an invoice"})
    item.refresh_from_db()
    assert item.department == billing
    # I do not work Billing: the ticket leaves my queue, so I go back to the list, and a
    # second submit finds no ticket of mine to move.
    assert response["Location"] == reverse("admin:support_ticket_changelist")
    assert client.post(url, {"department": billing.pk, "reason": "About an invoice"}) \
        .status_code == 404
    assert _notes(item) == [f"Moved from Technical to Billing by {me.email}: About an invoice"]
    # The assignee did not work Billing: the ticket waits for someone there.
    assert item.assignee is None
    assert ActionLog.objects.filter(action="ticket.transferred", object_id=str(item.pk)) \
        .count() == 1
    # The Billing team sees it now.
    client.force_login(billing_employee())
    page = client.get(reverse("admin:support_ticket_change", args=[item.pk]))
    assert page.status_code == 200
    assert "About an invoice" in page.content.decode()


def test_an_assignee_who_works_both_keeps_it_and_a_double_submit_moves_once(client, setting):
    _technical, billing, me, item = setting
    billing.staff_departments.add(*me.groups.values_list("pk", flat=True))
    client.force_login(me)
    url = reverse("admin:support_ticket_transfer", args=[item.pk])
    for _attempt in range(2):
        response = client.post(url, {"department": billing.pk, "reason": "Billing"})
        assert response["Location"] == reverse("admin:support_ticket_change", args=[item.pk])
    item.refresh_from_db()
    assert (item.department, item.assignee) == (billing, me)
    assert len(_notes(item)) == 1
    assert not ticket_transfer(ticket=item, department=billing, actor=me, reason="Again",
                               now=WHEN)


@pytest.mark.parametrize("reason", ["", "   "])
def test_a_transfer_needs_a_reason(client, setting, reason):
    technical, billing, me, item = setting
    client.force_login(me)
    response = client.post(reverse("admin:support_ticket_transfer", args=[item.pk]),
                           {"department": billing.pk, "reason": reason})
    assert response.status_code == 200
    item.refresh_from_db()
    assert item.department == technical
    assert _notes(item) == []
    with pytest.raises(ValidationError):
        ticket_transfer(ticket=item, department=billing, actor=me, reason=reason, now=WHEN)


def test_bad_input_changes_nothing(client, setting):
    technical, _billing, me, item = setting
    client.force_login(me)
    for data in [{"department": "999999", "reason": "x"}, {"department": "abc", "reason": "x"},
                 {}]:
        response = client.post(reverse("admin:support_ticket_transfer", args=[item.pk]), data)
        assert response.status_code == 200, data
    item.refresh_from_db()
    assert item.department == technical
    assert _notes(item) == []


@pytest.mark.parametrize("staff_department", ["Accounting", "Sales"])
def test_transfer_needs_its_permission(client, setting, staff_department):
    technical, billing, _me, item = setting
    looker = employee(staff_department=staff_department)
    technical.staff_departments.add(*looker.groups.values_list("pk", flat=True))
    client.force_login(looker)
    url = reverse("admin:support_ticket_transfer", args=[item.pk])
    assert client.get(url).status_code == 403
    assert client.post(url, {"department": billing.pk, "reason": "x"}).status_code == 403
    item.refresh_from_db()
    assert item.department == technical


def test_bulk_transfer(client, setting):
    technical, billing, me, item = setting
    other = ticket(ClientFactory(), technical, "Another one")
    client.force_login(me)
    selected = {"action": "transfer_tickets", "_selected_action": [item.pk, other.pk]}
    assert client.post(reverse("admin:support_ticket_changelist"), selected).status_code \
        == 200  # the page asking where to and why
    for _attempt in range(2):
        client.post(reverse("admin:support_ticket_changelist"),
                    {**selected, "apply": "1", "department": billing.pk,
                     "reason": "Invoices"})
    assert set(Ticket.objects.filter(department=billing).values_list("pk", flat=True)) \
        == {item.pk, other.pk}
    assert [len(_notes(t)) for t in (item, other)] == [1, 1]
