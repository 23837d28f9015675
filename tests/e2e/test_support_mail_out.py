"""In a browser: a support employee chooses their ticket e-mail on their page in the staff
panel, and a client's colleague follows a ticket from its page; both pages fit a phone."""

import re

import pytest
from playwright.sync_api import expect

from accounts.models import Access
from accounts.staff_roles import DEFAULT_DEPARTMENTS, department_sync
from support import tickets
from support.models import StaffSubscription, SubscriptionLevel, TicketFollower
from tests.factories.accounts import PASSWORD, ClientUserFactory, StaffFactory
from tests.factories.support import WHEN, SupportDepartmentFactory
from tests.signin import totp_code, totp_secret

pytestmark = pytest.mark.django_db(transaction=True)
PHONE = {"width": 390, "height": 844}


def _sign_in(page, email, *, code=None):
    page.goto("/auth/login/")
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("form.form button[type=submit]")
    if code is not None:
        expect(page).to_have_url(re.compile(r"/auth/2fa/authenticate/"))
        page.fill("input[name=code]", code)
        page.click("form.form button[type=submit]")


def _fits(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_staff_choose_their_ticket_mail(page, shoot):
    technical = SupportDepartmentFactory()
    SupportDepartmentFactory(slug="billing", name="Billing questions")
    member = StaffFactory(email="sam@staff.example")
    member.groups.add(department_sync(name="Technical support",
                                      codenames=DEFAULT_DEPARTMENTS["Technical support"]))

    _sign_in(page, member.email, code=totp_code(totp_secret(member)))
    page.click("text=Ticket e-mail")
    expect(page.locator("h1")).to_contain_text("Ticket e-mail")
    page.check(f"#id_department_{technical.pk}_1")  # only tickets assigned to me
    page.click("input[type=submit][value=Save]")
    expect(page.locator(".messagelist")).to_contain_text("saved")
    assert StaffSubscription.objects.get(user=member, department=technical).level == \
        SubscriptionLevel.ASSIGNED
    shoot("support-staff-subscriptions-1280")
    page.set_viewport_size(PHONE)
    page.reload()
    shoot("support-staff-subscriptions-390")
    assert _fits(page)

    # The ticket's page says who a reply is mailed to.
    owner = ClientUserFactory(owner=True, client__email="dana@client.example")
    colleague = ClientUserFactory(client=owner.client, user__email="chris@client.example")
    ticket = tickets.ticket_open(client=owner.client, user=colleague.user,
                                 department=technical, subject="Disk full",
                                 body="Please free some space.", now=WHEN)
    page.set_viewport_size({"width": 1280, "height": 860})
    page.goto(f"/staff/support/ticket/{ticket.pk}/change/")
    expect(page.locator("body")).to_contain_text(
        "dana@client.example, chris@client.example")
    shoot("support-staff-ticket-mailed-to-1280")
    page.set_viewport_size(PHONE)
    page.reload()
    shoot("support-staff-ticket-mailed-to-390")


def test_a_colleague_follows_a_ticket(page, shoot):
    owner = ClientUserFactory(owner=True)
    colleague = ClientUserFactory(client=owner.client, support_access=Access.READ,
                                  user__email="robin@client.example")
    ticket = tickets.ticket_open(client=owner.client, user=owner.user,
                                 department=SupportDepartmentFactory(),
                                 subject="The server does not answer on port 443",
                                 body="Since this morning HTTPS times out.", now=WHEN)

    _sign_in(page, colleague.user.email)
    page.goto(f"/support/{ticket.pk}/")
    page.click("text=Follow by e-mail")
    expect(page.locator("body")).to_contain_text("replies by e-mail")
    assert TicketFollower.objects.filter(ticket=ticket, user=colleague.user).exists()
    shoot("support-follow-1280")
    page.set_viewport_size(PHONE)
    page.reload()
    shoot("support-follow-390")
    assert _fits(page)
