"""The E-mail screen in a real browser: support staff find a stranger's mail under "To
decide", find the client by the autocomplete and turn the mail into a ticket; another
stranger is discarded with an invitation to register. Pages are shot at 1280 and 390 px
and must not scroll sideways on a phone."""

import pytest
from playwright.sync_api import expect

from accounts.staff_roles import DEFAULT_DEPARTMENTS, department_sync
from support import inbound
from support.models import InboundEmail, InboundOutcome, SenderInvitation, Ticket
from support.spam import spam_rules_default
from tests.e2e.conftest import SCREENSHOTS
from tests.factories.accounts import PASSWORD, ClientFactory, StaffFactory
from tests.factories.support import WHEN, SupportDepartmentFactory
from tests.signin import browser_sign_in, totp_secret

pytestmark = pytest.mark.django_db(transaction=True)


def _mail(number: int, sender: str, subject: str, body: str, extra: str = "") -> bytes:
    return (f"From: {sender}\r\nTo: support@openbill.test\r\nSubject: {subject}\r\n"
            f"Message-ID: <e2e-{number}@elsewhere.example>\r\n{extra}"
            f"Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n").encode()


def _no_sideways_scroll(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"{page.url} scrolls sideways at 390 px ({width} px wide)"


def _shoot_both(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1280, "height": 860})
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(SCREENSHOTS / f"{name}-390.png"), full_page=True)
    _no_sideways_scroll(page)
    page.set_viewport_size({"width": 1280, "height": 860})


def test_support_turns_a_strangers_mail_into_a_ticket_and_invites_another(page):
    spam_rules_default(now=WHEN)
    department = SupportDepartmentFactory(email="support@openbill.test")
    client = ClientFactory(name="Dana Client", email="dana@client.example")
    received = inbound.receive(
        _mail(1, "Maria Lopez <maria@startup.example>", "Do you offer Windows VPS?",
              "We need two Windows servers for a small office.\r\nWhat do they cost?"),
        route="pipe", department=department, now=WHEN).inbound
    stranger = inbound.receive(
        _mail(2, "Tom <tom@elsewhere.example>", "Hello", "Are you hiring?"),
        route="pipe", department=department, now=WHEN).inbound
    inbound.receive(_mail(3, "Prize <win@lottery.example>", "You won", "Claim now.",
                          "X-Spam-Flag: YES\r\n"), route="pipe", now=WHEN)
    employee = StaffFactory(email="sam@openbill.test")
    employee.groups.add(department_sync(name="Technical support",
                                        codenames=DEFAULT_DEPARTMENTS["Technical support"]))

    browser_sign_in(page, employee.email, PASSWORD, secret=totp_secret(employee),
                    next_url="/staff/")
    page.goto("/staff/support/inboundemail/")
    expect(page.locator("#changelist-filter")).to_contain_text("To decide (2)")
    expect(page.locator("#result_list")).to_contain_text("maria@startup.example")
    expect(page.locator("#result_list")).not_to_contain_text("win@lottery.example")
    _shoot_both(page, "staff-email-to-decide")
    page.goto("/staff/support/inboundemail/?view=spam")
    _shoot_both(page, "staff-email-spam")

    page.goto(f"/staff/support/inboundemail/{received.pk}/change/")
    expect(page.locator(".triage-body")).to_contain_text("two Windows servers")
    _shoot_both(page, "staff-email-message")
    page.click("text=Turn into a ticket")
    page.wait_for_url(f"**/{received.pk}/ticket/")
    # The client by the admin's autocomplete (select2), as staff would.
    page.click("[aria-labelledby=select2-id_client-container]")
    page.fill(".select2-search__field", "Dana")
    page.click(".select2-results__option >> text=Dana Client")
    page.select_option("select[name=priority]", "high")
    _shoot_both(page, "staff-email-ticket")
    page.click("input[type=submit]")

    page.wait_for_url("**/support/ticket/*/change/")
    ticket = Ticket.objects.get(client=client)
    assert ticket.subject == "Do you offer Windows VPS?"
    assert "two Windows servers" in ticket.messages.get().body_text
    received.refresh_from_db()
    assert (received.outcome, received.decided_by) == (InboundOutcome.TICKET_CREATED,
                                                       employee)

    page.goto(f"/staff/support/inboundemail/{stranger.pk}/discard/")
    expect(page.locator("details")).to_contain_text("The invitation")
    _shoot_both(page, "staff-email-discard")
    page.check("input[name=invite]")
    page.click("input[type=submit]")
    page.wait_for_url("**/support/inboundemail/")
    expect(page.locator("#changelist-filter")).to_contain_text("To decide (0)")
    assert SenderInvitation.objects.get().inbound == stranger
    assert InboundEmail.objects.get(pk=stranger.pk).outcome == InboundOutcome.DISCARDED

    spam = InboundEmail.objects.get(sender="win@lottery.example")
    page.goto(f"/staff/support/inboundemail/{spam.pk}/block/")
    _shoot_both(page, "staff-email-block")
    page.goto("/staff/support/spamrule/")
    _shoot_both(page, "staff-spam-rules")
