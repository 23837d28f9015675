"""The support center end to end: a client asks about a service with a screenshot
attached; staff answer with an answer template; the client gets the mail and answers it by
e-mail (the MTA's pipe); staff see it in the thread; a colleague who opened the ticket
earlier has his answer held back and sees what came meanwhile; the client closes the ticket
and rates it."""

from email.message import EmailMessage
from email.utils import make_msgid
from io import BytesIO, StringIO

import pytest
from django.core import mail
from django.core.management import call_command
from django.urls import reverse
from playwright.sync_api import expect

from accounts.staff_roles import DEFAULT_DEPARTMENTS, department_sync
from support.models import AnswerTemplate, InboundOutcome, MessageKind, TemplateScope, Ticket
from tests.e2e.conftest import SCREENSHOTS
from tests.factories.accounts import ClientUserFactory, ProviderFactory, StaffFactory
from tests.factories.services import ServiceFactory
from tests.factories.support import SupportDepartmentFactory
from tests.notifications import notifications_deliver
from tests.signin import browser_sign_in, totp_secret

pytestmark = pytest.mark.django_db(transaction=True)

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 64
DESKTOP, PHONE = {"width": 1280, "height": 860}, {"width": 390, "height": 844}


def _staff_page(browser, live_server, person):
    context = browser.new_context(base_url=live_server.url, viewport=DESKTOP)
    page = context.new_page()
    page.set_default_timeout(15_000)
    browser_sign_in(page, person.email, secret=totp_secret(person))
    return page


def _shoot_both(page, name: str) -> None:
    """The page at 1280 and at 390 px; at 390 it must not scroll sideways."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    page.set_viewport_size(PHONE)
    page.screenshot(path=str(SCREENSHOTS / f"{name}-390.png"), full_page=True)
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    page.set_viewport_size(DESKTOP)
    assert overflow <= 0, f"{name} scrolls sideways by {overflow}px at 390 px"


def _reply_by_email(answered, *, sender: str, text: str) -> bytes:
    """The client's mail program answering our mail: to its Reply-To, threaded by its
    Message-ID, the quoted answer below."""
    reply = EmailMessage()
    reply["From"] = sender
    reply["To"] = answered.extra_headers["Reply-To"]
    reply["Subject"] = f"Re: {answered.subject}"
    reply["Message-ID"] = make_msgid(domain="dana.example")
    reply["In-Reply-To"] = answered.extra_headers["Message-ID"]
    reply["References"] = answered.extra_headers["Message-ID"]
    quoted = "\n".join(f"> {line}" for line in answered.body.splitlines())
    reply.set_content(f"{text}\n\nOn Monday, Support wrote:\n{quoted}\n")
    return reply.as_bytes()


def test_a_question_about_a_service_answered_replied_by_mail_closed_and_rated(
        browser, live_server, page, shoot, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    owner = ClientUserFactory(owner=True, client__provider=ProviderFactory(is_default=True),
                              client__name="Dana Ltd", user__name="Dana")
    service = ServiceFactory(client=owner.client, name="vps-7.example")
    department = SupportDepartmentFactory(email="support@openbill.example")
    team = department_sync(name="Technical support",
                           codenames=DEFAULT_DEPARTMENTS["Technical support"])
    ann = StaffFactory(name="Ann Support", email="ann@openbill.example")
    ben = StaffFactory(name="Ben Support", email="ben@openbill.example")
    for person in (ann, ben):
        person.groups.add(team)
    AnswerTemplate.objects.create(
        name="Disk full: cleaned", scope=TemplateScope.EVERYONE,
        body="Hello {{ client_name }},\n\nthe disk of {{ service_name }} was full; we removed "
             "old logs and it answers again ({{ ticket_number }}).\n\n{{ staff_name }}")

    # The client asks about the service, from its page, with a screenshot.
    browser_sign_in(page, owner.user.email)
    page.goto(reverse("services:detail", args=[service.pk]))
    page.click("text=Ask a question about this service")
    expect(page.locator("select[name=service]")).to_have_value(str(service.pk))
    page.select_option("select[name=department]", label=department.name)
    page.fill("input[name=subject]", "Site does not answer")
    page.fill("textarea[name=body]", "Since this morning the site times out.")
    page.set_input_files("input[name=attachments]", files=[
        {"name": "timeout.png", "mimeType": "image/png", "buffer": PNG}])
    shoot("support-client-new-ticket")
    page.click("button:has-text('Open the ticket')")
    expect(page.locator("body")).to_contain_text("we will answer soon")
    ticket = Ticket.objects.get()
    assert (ticket.client, ticket.service) == (owner.client, service)
    assert ticket.messages.get().attachments.get().original_name == "timeout.png"
    change_url = reverse("admin:support_ticket_change", args=[ticket.pk])

    # Ben opens the ticket first and starts writing; he is slow.
    ben_page = _staff_page(browser, live_server, ben)
    ben_page.goto(change_url)
    ben_page.fill("#id_body", "We are looking into it.")

    # Ann opens it too, sees Ben there, and answers with the template.
    ann_page = _staff_page(browser, live_server, ann)
    ann_page.goto(change_url)
    expect(ann_page.locator("#presence")).to_contain_text("Also viewing: Ben Support (replying…)")
    ann_page.select_option("#id_answer_template", label="Disk full: cleaned")
    answer = (f"Hello Dana Ltd,\n\nthe disk of vps-7.example was full; we removed old logs and "
              f"it answers again ({ticket.display_number}).\n\nAnn Support")
    expect(ann_page.locator("#id_body")).to_have_value(answer)
    ann_page.locator("#answer").scroll_into_view_if_needed()
    _shoot_both(ann_page, "support-staff-answer-template")
    ann_page.click("#reply-form input[type=submit]")
    expect(ann_page.locator(".messagelist")).to_contain_text("Reply sent.")

    # The client is mailed (by a worker: its work is done here), threaded, with the signed
    # reply address.
    notifications_deliver()
    to_client = [m for m in mail.outbox if m.to == [owner.client.email]]
    assert len(to_client) == 1
    answered = to_client[0]
    assert ticket.subject_token in answered.subject
    assert "we removed old logs" in answered.body
    assert answered.extra_headers["Message-ID"] == ticket.messages.get(
        kind=MessageKind.STAFF).message_id
    assert answered.extra_headers["Reply-To"].startswith("support+t")

    # ... and answers it from the mail program; the MTA pipes it in.
    raw = _reply_by_email(answered, sender=owner.user.email, text="Thanks, it works now!")
    out = StringIO()
    call_command("support_pipe", "--department", department.slug, stdin=BytesIO(raw),
                 stdout=out)
    assert out.getvalue().strip().endswith(InboundOutcome.REPLY_ADDED)

    # Ann sees it in the thread, the quoted history folded away.
    ann_page.reload()
    thread = ann_page.locator(".ticket-message")
    expect(thread).to_have_count(3)
    expect(thread.nth(2)).to_contain_text("Thanks, it works now!")
    expect(thread.nth(2)).not_to_contain_text("we removed old logs")

    # Ben finally sends his: held back, with what came since shown above his kept text.
    ben_page.click("#reply-form input[type=submit]")
    notice = ben_page.locator("#collision")
    expect(notice).to_contain_text("Not sent: 2 new messages arrived while you were writing.")
    expect(notice).to_contain_text("we removed old logs")
    expect(notice).to_contain_text("Thanks, it works now!")
    expect(ben_page.locator("#id_body")).to_have_value("We are looking into it.")
    assert not ticket.messages.filter(author=ben).exists()
    _shoot_both(ben_page, "support-staff-collision")
    # Having read them, he says something else, and it goes.
    ben_page.fill("#id_body", "Glad it works. Tell us if it happens again.")
    ben_page.click("#reply-form input[type=submit]")
    expect(ben_page.locator(".messagelist")).to_contain_text("Reply sent.")
    assert ticket.messages.filter(author=ben, kind=MessageKind.STAFF).count() == 1

    # The client closes the ticket and rates it.
    page.goto(reverse("support:ticket", args=[ticket.pk]))
    expect(page.locator("body")).to_contain_text("Glad it works.")
    page.click("button:has-text('Close the ticket')")
    page.check("input[name=rating][value='5']")
    page.fill("textarea[name=comment]", "Fast and clear.")
    page.click("button:has-text('Rate')")
    expect(page.locator("body")).to_contain_text("Thank you for your rating.")
    shoot("support-client-rated")
    ticket.refresh_from_db()
    assert (ticket.status, ticket.rating, ticket.rating_comment) == ("closed", 5,
                                                                    "Fast and clear.")
    for staff_page in (ann_page, ben_page):
        staff_page.context.close()


def test_support_staff_keep_their_own_answer_templates(browser, live_server):
    team = department_sync(name="Technical support",
                           codenames=DEFAULT_DEPARTMENTS["Technical support"])
    SupportDepartmentFactory()
    ann = StaffFactory(name="Ann Support", email="ann@openbill.example")
    ann.groups.add(team)
    AnswerTemplate.objects.create(name="Greeting", scope=TemplateScope.EVERYONE,
                                  body="Hello {{ client_name }},")
    page = _staff_page(browser, live_server, ann)
    page.goto(reverse("admin:support_answertemplate_add"))
    # Only her own: sharing needs the right to manage shared templates.
    expect(page.locator("select[name=scope] option")).to_have_count(1)
    page.fill("input[name=name]", "My signature")
    page.fill("textarea[name=body]", "--\n{{ staff_name }}, technical support")
    _shoot_both(page, "support-staff-answer-template-add")
    page.click("input[name=_save]")
    expect(page.locator(".messagelist")).to_contain_text("was added successfully")
    expect(page.locator("#result_list")).to_contain_text("My signature")
    expect(page.locator("#result_list")).to_contain_text("Greeting")
    _shoot_both(page, "support-staff-answer-templates")
    mine = AnswerTemplate.objects.get(name="My signature")
    assert (mine.scope, mine.owner) == (TemplateScope.PERSONAL, ann)
    page.context.close()
