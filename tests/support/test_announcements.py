"""Announcements to clients: period, audience, provider, blocking of new tickets (the form,
a late reply, e-mail in), the sign-in banner and its dismissal, the staff form and preview."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils.safestring import SafeString
from hypothesis import HealthCheck, example, given
from hypothesis import settings as settings_hypothesis
from hypothesis import strategies as st

from accounts.staff_roles import DEFAULT_DEPARTMENTS, department_sync
from services.models import ProductType, ServiceStatus
from support import inbound, tickets
from support.admin_announcements import AnnouncementForm
from support.announcements import (
    announcements_for,
    audience_clients,
    blocking_announcement,
    body_html,
    is_shown,
)
from support.models import (
    Announcement,
    AnnouncementAudience,
    AnnouncementDismissal,
    MessageKind,
    Ticket,
    TicketStatus,
)
from tests.factories.accounts import (
    ClientFactory,
    ClientGroupFactory,
    ClientUserFactory,
    ProviderFactory,
    StaffFactory,
)
from tests.factories.services import PlanFactory, ServiceFactory
from tests.factories.support import WHEN, AnnouncementFactory, SupportDepartmentFactory

pytestmark = pytest.mark.django_db

H = timedelta(hours=1)
A = AnnouncementAudience


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def _service(client, product_type=ProductType.VIRTUAL_SERVER, **fields):
    plan = PlanFactory(provider=client.provider, product_type=product_type)
    return ServiceFactory(client=client, plan=plan, **fields)


# Period ---------------------------------------------------------------------------------
# (starts, ends, now) as offsets in hours from WHEN -> shown?
PERIOD = [
    (0, None, 0, True),      # from its start (inclusive)
    (0, None, -1, False),    # not before
    (0, None, 10_000, True),  # open-ended
    (0, 2, 1, True),
    (0, 2, 2, False),        # until its end (exclusive)
    (0, 2, 3, False),
]


@pytest.mark.parametrize(("starts", "ends", "now", "shown"), PERIOD)
def test_an_announcement_is_shown_from_its_start_until_its_end(owner, starts, ends, now,
                                                               shown):
    announcement = AnnouncementFactory(starts_at=WHEN + starts * H,
                                       ends_at=None if ends is None else WHEN + ends * H)
    assert is_shown(announcement, now=WHEN + now * H) is shown
    # The database's reading of the same rule agrees.
    assert (announcement in announcements_for(owner.client, now=WHEN + now * H)) is shown


# Audience and provider --------------------------------------------------------------------
@pytest.fixture
def clients():
    """Four clients of one provider and one of another, each with what the audience reads."""
    provider, other_provider = ProviderFactory(), ProviderFactory()
    group = ClientGroupFactory(name="Resellers")
    vps_owner = ClientFactory(provider=provider)
    vps_owner.groups.add(group)
    vps = _service(vps_owner)
    domain_owner = ClientFactory(provider=provider)
    _service(domain_owner, ProductType.DOMAIN)
    _service(domain_owner, status=ServiceStatus.DELETED)  # a deleted VPS does not count
    grouped = ClientFactory(provider=provider)
    grouped.groups.add(group)
    nothing = ClientFactory(provider=provider)
    foreign = ClientFactory(provider=other_provider)
    _service(foreign)
    return {"provider": provider, "other_provider": other_provider, "group": group,
            "vps": vps, "clients": {"vps_owner": vps_owner, "domain_owner": domain_owner,
                                    "grouped": grouped, "nothing": nothing,
                                    "foreign": foreign}}


# audience kind -> the clients (fixture names) who see it; checked by hand.
AUDIENCE = [
    ("all of every provider", {"vps_owner", "domain_owner", "grouped", "nothing", "foreign"}),
    ("all of the provider", {"vps_owner", "domain_owner", "grouped", "nothing"}),
    ("all of the other provider", {"foreign"}),
    ("VPS owners", {"vps_owner"}),
    ("VPS or domain owners", {"vps_owner", "domain_owner"}),
    ("the VPS service", {"vps_owner"}),
    ("the group", {"vps_owner", "grouped"}),
]


def _audience_announcement(kind: str, world) -> Announcement:
    provider = world["provider"]
    if kind == "all of every provider":
        return AnnouncementFactory()
    if kind == "all of the provider":
        return AnnouncementFactory(provider=provider)
    if kind == "all of the other provider":
        return AnnouncementFactory(provider=world["other_provider"])
    if kind == "VPS owners":
        return AnnouncementFactory(provider=provider, audience=A.PRODUCT_TYPES,
                                   audience_product_types=[ProductType.VIRTUAL_SERVER])
    if kind == "VPS or domain owners":
        return AnnouncementFactory(provider=provider, audience=A.PRODUCT_TYPES,
                                   audience_product_types=[ProductType.VIRTUAL_SERVER,
                                                           ProductType.DOMAIN])
    if kind == "the VPS service":
        return AnnouncementFactory(provider=provider, audience=A.SERVICES,
                                   audience_services=[world["vps"]])
    return AnnouncementFactory(provider=provider, audience=A.GROUPS,
                               audience_groups=[world["group"]])


@pytest.mark.parametrize(("kind", "seen_by"), AUDIENCE, ids=[row[0] for row in AUDIENCE])
def test_the_audience_decides_who_sees_an_announcement(clients, kind, seen_by):
    announcement = _audience_announcement(kind, clients)
    sees = {name for name, client in clients["clients"].items()
            if announcement in announcements_for(client, now=WHEN)}
    assert sees == seen_by
    # The staff preview's reach reads the same rule the other way.
    reached = set(audience_clients(announcement).filter(
        pk__in=[c.pk for c in clients["clients"].values()]).values_list("pk", flat=True))
    assert reached == {clients["clients"][name].pk for name in seen_by}


def test_a_client_never_sees_another_providers_announcement(client, clients):
    theirs = AnnouncementFactory(provider=clients["other_provider"], title="Their outage",
                                 show_on_sign_in=True)
    user = ClientUserFactory(owner=True, client=clients["clients"]["vps_owner"]).user
    client.force_login(user)
    page = client.get(reverse("home")).content.decode()
    assert "Their outage" not in page
    response = client.post(reverse("support:announcement_dismiss", args=[theirs.pk]))
    assert response.status_code == 404
    assert not AnnouncementDismissal.objects.exists()


# Blocking -----------------------------------------------------------------------------------
# (what the announcement blocks, its period/audience, the ticket's service) -> blocked?
BLOCKING = [
    ("vps type", "shown", "vps", True),
    ("vps type", "shown", "domain", False),
    ("vps type", "shown", None, False),           # a ticket about no service is never blocked
    ("the vps service", "shown", "vps", True),
    ("the vps service", "shown", "other vps", False),
    ("dns type", "shown", "vps", False),
    ("vps type", "ended", "vps", False),
    ("vps type", "scheduled", "vps", False),
    ("vps type", "other group only", "vps", False),  # not shown to the client: not blocked
    ("vps type", "other provider", "vps", False),
    ("nothing", "shown", "vps", False),
]


@pytest.mark.parametrize(("blocks", "state", "about", "blocked"), BLOCKING)
def test_blocking_announcement(owner, blocks, state, about, blocked):
    client = owner.client
    services = {"vps": _service(client), "other vps": _service(client),
                "domain": _service(client, ProductType.DOMAIN), None: None}
    fields = {
        "vps type": {"blocks_product_types": [ProductType.VIRTUAL_SERVER]},
        "dns type": {"blocks_product_types": [ProductType.DNS]},
        "the vps service": {"blocks_services": [services["vps"]]},
        "nothing": {},
    }[blocks]
    fields.update({
        "shown": {},
        "ended": {"starts_at": WHEN - 3 * H, "ends_at": WHEN - H},
        "scheduled": {"starts_at": WHEN + H},
        "other group only": {"audience": A.GROUPS,
                             "audience_groups": [ClientGroupFactory()]},
        "other provider": {"provider": ProviderFactory()},
    }[state])
    announcement = AnnouncementFactory(block_reason="We know.", **fields)
    found = blocking_announcement(client, services[about], WHEN)
    assert found == (announcement if blocked else None)


def _ticket_post(service, **extra):
    return {"department": SupportDepartmentFactory().pk, "service": service.pk if service
            else "", "priority": "normal", "subject": "Down", "body": "It is down.", **extra}


@pytest.fixture
def frankfurt(owner):
    """A VPS of the owner's client under an incident that blocks new VPS tickets."""
    vps = _service(owner.client)
    incident = AnnouncementFactory(
        title="Outage in Frankfurt", level="incident",
        blocks_product_types=[ProductType.VIRTUAL_SERVER],
        block_reason="We know about the outage in Frankfurt; follow status.example.com.")
    return vps, incident


def test_the_ticket_form_refuses_a_blocked_service_and_says_why(owner_client, frankfurt):
    vps, _incident = frankfurt
    response = owner_client.post(reverse("support:ticket_create"), _ticket_post(vps))
    page = response.content.decode()
    assert response.status_code == 200
    assert "New tickets about this service are paused" in page
    assert "We know about the outage in Frankfurt" in page
    assert Ticket.objects.count() == 0


def test_other_services_and_no_service_still_open_tickets(owner_client, owner, frankfurt):
    domain = _service(owner.client, ProductType.DOMAIN)
    for service in (domain, None):
        response = owner_client.post(reverse("support:ticket_create"), _ticket_post(service))
        assert response.status_code == 302
    assert Ticket.objects.count() == 2


def test_asking_about_a_blocked_service_shows_the_notice_up_front(owner_client, owner,
                                                                  frankfurt):
    vps, _incident = frankfurt
    page = owner_client.get(reverse("support:ticket_create") + f"?service={vps.pk}")
    assert "We know about the outage in Frankfurt" in page.content.decode()
    other = _service(owner.client, ProductType.DOMAIN)
    page = owner_client.get(reverse("support:ticket_create") + f"?service={other.pk}")
    assert "outage in Frankfurt" not in page.content.decode()


def test_a_foreign_service_in_the_link_shows_no_notice(owner_client):
    foreign = _service(ClientFactory())
    AnnouncementFactory(blocks_services=[foreign], block_reason="Foreign outage")
    page = owner_client.get(reverse("support:ticket_create") + f"?service={foreign.pk}")
    assert page.status_code == 200
    assert "Foreign outage" not in page.content.decode()


def _closed_ticket(owner, service, *, closed_days_ago):
    ticket = tickets.ticket_open(client=owner.client, user=owner.user,
                                 department=SupportDepartmentFactory(reopen_days=7),
                                 service=service, subject="Old", body="Old.",
                                 now=WHEN - timedelta(days=closed_days_ago + 1))
    return tickets.ticket_close(ticket=ticket, now=WHEN - timedelta(days=closed_days_ago))


def test_a_late_reply_that_would_open_a_new_ticket_is_refused_too(owner_client, owner,
                                                                   frankfurt):
    vps, _incident = frankfurt
    # Closed long ago (in the real clock's past): a reply would open a new linked ticket.
    old = _closed_ticket(owner, vps, closed_days_ago=3650)
    response = owner_client.post(reverse("support:reply", args=[old.pk]), {"body": "Again"})
    assert response.status_code == 422
    assert "outage in Frankfurt" in response.content.decode()
    assert Ticket.objects.count() == 1
    assert old.messages.count() == 1


def test_mail_about_a_blocked_service_opens_the_ticket_with_a_note(owner, frankfurt):
    vps, incident = frankfurt
    old = _closed_ticket(owner, vps, closed_days_ago=30)
    raw = (f"From: {owner.user.email}\r\nTo: support@example.com\r\n"
           f"Subject: Re: Old {old.subject_token}\r\nMessage-ID: <late-1@mail.test>\r\n\r\n"
           "It is down again.\r\n").encode()
    receipt = inbound.receive(raw, route="pipe", now=WHEN)
    new = receipt.inbound.ticket
    assert new.linked_to == old
    assert new.service == vps
    note = new.messages.get(kind=MessageKind.INTERNAL_NOTE)
    assert incident.title in note.body_text
    # The note is for staff only: the client's thread does not show it.
    assert list(new.messages.filter(kind=MessageKind.CLIENT).values_list(
        "body_text", flat=True)) == ["It is down again."]


def test_mail_about_no_blocked_service_gets_no_note(owner):
    AnnouncementFactory(blocks_product_types=[ProductType.DNS], block_reason="DNS")
    SupportDepartmentFactory()
    raw = (f"From: {owner.user.email}\r\nTo: support@example.com\r\nSubject: Hello\r\n"
           "Message-ID: <new-1@mail.test>\r\n\r\nA question.\r\n").encode()
    ticket = inbound.receive(raw, route="pipe", now=WHEN).inbound.ticket
    assert ticket.status == TicketStatus.NEW
    assert not ticket.messages.filter(kind=MessageKind.INTERNAL_NOTE).exists()


# The home page and the sign-in banner -------------------------------------------------------
def test_the_home_page_lists_what_is_shown_now(owner_client, owner):
    AnnouncementFactory(title="Maintenance on Sunday", level="maintenance",
                        body="Line one\nLine two")
    AnnouncementFactory(title="Long over", starts_at=WHEN - 9 * H, ends_at=WHEN - 8 * H)
    AnnouncementFactory(title="Next year", starts_at=WHEN + timedelta(days=3650))
    page = owner_client.get(reverse("home")).content.decode()
    assert "Maintenance on Sunday" in page
    assert "<p>Line one<br>Line two</p>" in page
    assert "Long over" not in page
    assert "Next year" not in page


def test_the_sign_in_banner_stays_until_the_user_hides_it(owner_client, owner, client):
    notice = AnnouncementFactory(title="Read me once", show_on_sign_in=True)
    services = reverse("services:list")
    assert "Read me once" in owner_client.get(services).content.decode()

    response = owner_client.post(reverse("support:announcement_dismiss", args=[notice.pk]),
                                 {"next": services})
    assert response.status_code == 302
    assert response["Location"] == services
    assert "Read me once" not in owner_client.get(services).content.decode()
    # A second submit (a double click) changes nothing.
    owner_client.post(reverse("support:announcement_dismiss", args=[notice.pk]))
    assert AnnouncementDismissal.objects.filter(user=owner.user).count() == 1

    # Another user of the same client still sees it: dismissal is per user.
    colleague = ClientUserFactory(client=owner.client).user
    client.logout()
    client.force_login(colleague)
    assert "Read me once" in client.get(reverse("home")).content.decode()


def test_hiding_by_htmx_swaps_the_banner_for_nothing(htmx_client):
    notice = AnnouncementFactory(show_on_sign_in=True)
    response = htmx_client.post(reverse("support:announcement_dismiss", args=[notice.pk]))
    assert (response.status_code, response.content) == (200, b"")


def test_hiding_never_redirects_off_site(owner_client):
    notice = AnnouncementFactory(show_on_sign_in=True)
    response = owner_client.post(reverse("support:announcement_dismiss", args=[notice.pk]),
                                 {"next": "https://evil.example/"})
    assert response["Location"] == reverse("home")


@pytest.mark.parametrize("which", ["not in the audience", "ended", "missing"])
def test_hiding_an_announcement_the_client_does_not_see_is_404(owner_client, which):
    if which == "not in the audience":
        pk = AnnouncementFactory(audience=A.GROUPS, audience_groups=[ClientGroupFactory()],
                                 show_on_sign_in=True).pk
    elif which == "ended":
        pk = AnnouncementFactory(ends_at=WHEN + H, show_on_sign_in=True).pk
    else:
        pk = 987654
    response = owner_client.post(reverse("support:announcement_dismiss", args=[pk]))
    assert response.status_code == 404
    assert not AnnouncementDismissal.objects.exists()


def test_hiding_needs_a_post(owner_client):
    notice = AnnouncementFactory(show_on_sign_in=True)
    assert owner_client.get(reverse("support:announcement_dismiss",
                                    args=[notice.pk])).status_code == 405


# Bodies ----------------------------------------------------------------------------------------
BODIES = [
    ("Line one\nLine two & <more>", "<p>Line one<br>Line two &amp; &lt;more&gt;</p>"),
    ("<p>Go to <a href=\"https://status.example.com\">status</a></p><script>x()</script>",
     '<p>Go to <a href="https://status.example.com" rel="noopener noreferrer nofollow">'
     "status</a></p>"),
    ('<p onclick="steal()">Hi</p>', "<p>Hi</p>"),
]


@pytest.mark.parametrize(("body", "html"), BODIES)
def test_a_body_is_plain_text_or_sanitized_html(body, html):
    rendered = body_html(body)
    assert str(rendered) == html
    assert isinstance(rendered, SafeString)  # a template prints it as it is, not escaped


# Staff ---------------------------------------------------------------------------------------
def _form(**overrides):
    data = {"title": "Maintenance", "body": "Text", "level": "maintenance",
            "starts_at": "2027-01-01 10:00", "audience": "all", **overrides}
    return AnnouncementForm(data=data)


@pytest.mark.parametrize(("overrides", "field"), [
    ({"ends_at": "2027-01-01 09:00"}, "ends_at"),
    ({"audience": "groups"}, "audience_groups"),
    ({"audience": "product_types"}, "audience_product_types"),
    ({"blocks_product_types": ["vps"]}, "block_reason"),
    ({"body": "  "}, "body"),
])
def test_the_staff_form_refuses_what_makes_no_sense(overrides, field):
    form = _form(**overrides)
    assert not form.is_valid()
    assert field in form.errors


def test_the_staff_form_refuses_another_providers_service():
    provider = ProviderFactory()
    foreign = _service(ClientFactory())
    form = _form(provider=provider.pk, blocks_services=[foreign.pk], block_reason="x")
    assert not form.is_valid()
    assert "blocks_services" in form.errors


def test_the_staff_form_sanitizes_html():
    form = _form(body="<p>Hi</p><script>alert(1)</script>",
                 blocks_product_types=["vps"], block_reason="Known")
    assert form.is_valid(), form.errors
    announcement = form.save()
    assert announcement.body == "<p>Hi</p>"
    assert announcement.blocks_product_types == ["vps"]


def _staff(department):
    employee = StaffFactory()
    employee.groups.add(department_sync(name=department,
                                        codenames=DEFAULT_DEPARTMENTS[department]))
    return employee


def test_technical_support_previews_an_announcement(client):
    announcement = AnnouncementFactory(title="Preview me", show_on_sign_in=True,
                                       blocks_product_types=[ProductType.VIRTUAL_SERVER],
                                       block_reason="Known outage")
    _service(ClientFactory())
    client.force_login(_staff("Technical support"))
    page = client.get(reverse("admin:support_announcement_preview", args=[announcement.pk]))
    body = page.content.decode()
    assert page.status_code == 200
    assert "Preview me" in body
    assert "Known outage" in body
    client.force_login(_staff("Accounting"))
    assert client.get(reverse("admin:support_announcement_preview",
                              args=[announcement.pk])).status_code == 403


def test_technical_support_adds_an_announcement_in_the_staff_panel(client):
    client.force_login(_staff("Technical support"))
    response = client.post(reverse("admin:support_announcement_add"), {
        "title": "Reboot of host 12", "body": "Tonight.", "level": "maintenance",
        "starts_at_0": "2027-01-01", "starts_at_1": "10:00", "audience": "all",
        "show_on_sign_in": "on"})
    assert response.status_code == 302, response.content.decode()[:3000]
    assert Announcement.objects.get().title == "Reboot of host 12"


@settings_hypothesis(max_examples=40, deadline=None,
                     suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(target=st.text(max_size=200))
@example(target="/services/\r\nSet-Cookie: x=1")
@example(target="home")
@example(target="/\\evil.example")
def test_a_hostile_next_never_leads_off_site_nor_fails(owner_client, target):
    notice = AnnouncementFactory(show_on_sign_in=True)
    response = owner_client.post(reverse("support:announcement_dismiss", args=[notice.pk]),
                                 {"next": target.replace("\x00", "")})
    assert response.status_code == 302
    location = response["Location"]
    assert location.startswith("/")
    assert not location.startswith(("//", "/\\"))


def test_hostile_service_ids_in_the_staff_form_are_a_form_error(client):
    client.force_login(_staff("Technical support"))
    response = client.post(reverse("admin:support_announcement_add"), {
        "title": "x", "body": "y", "level": "info", "starts_at_0": "2027-01-01",
        "starts_at_1": "10:00", "audience": "all",
        "blocks_services": ["true", "\u00b2", "99999999999999999999"]})
    assert response.status_code == 200
    assert not Announcement.objects.exists()
