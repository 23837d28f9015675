"""Answer templates: their variables, who sees and edits which, and the picker of a
ticket's answer form."""

import re

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from accounts.models import Notification
from accounts.staff_roles import DEFAULT_DEPARTMENTS, department_sync
from support import tickets
from support.answer_templates import (
    answer_templates_for,
    answer_text,
    template_editable_by,
)
from support.models import AnswerTemplate, TemplateScope
from tests.factories.accounts import AdminFactory, ClientFactory, StaffFactory
from tests.factories.services import ServiceFactory
from tests.factories.support import WHEN, SupportDepartmentFactory


def _client_mail():
    # The mail to the client's own address (followers get theirs under longer keys).
    return Notification.objects.filter(event="ticket_answered", key__regex=r"^ticket_answered:\d+$")

VALUES = {"client_name": "Dana Ltd", "service_name": "vps-7.example",
          "ticket_number": "T-123456", "staff_name": "Sam Support"}


# --- the text: a fixed set of variables, nothing else ---------------------------------

@pytest.mark.parametrize(("body", "expected"), [
    ("Hello {{ client_name }},", "Hello Dana Ltd,"),
    ("{{client_name}}/{{   service_name   }}", "Dana Ltd/vps-7.example"),
    ("Ticket {{ ticket_number }} by {{ staff_name }}", "Ticket T-123456 by Sam Support"),
    ("{{ client_name }}{{ client_name }}", "Dana LtdDana Ltd"),
    # Not variables of ours: left exactly as written.
    ("{{ unknown }}", "{{ unknown }}"),
    ("{{ client_name|upper }}", "{{ client_name|upper }}"),
    ("{{ client_name.__class__ }}", "{{ client_name.__class__ }}"),
    ("{{ settings.SECRET_KEY }}", "{{ settings.SECRET_KEY }}"),
    ("{% now 'Y' %} {% debug %}", "{% now 'Y' %} {% debug %}"),
    ("{% load static %}{% static 'x' %}", "{% load static %}{% static 'x' %}"),
    ("{ client_name } {{ client_name }", "{ client_name } {{ client_name }"),
    ("", ""),
])
def test_answer_text(body, expected):
    assert answer_text(body, VALUES) == expected


def test_a_value_is_inserted_as_it_is_never_read_again():
    values = {**VALUES, "client_name": "{{ staff_name }} {% debug %}"}
    assert answer_text("Hi {{ client_name }}", values) == "Hi {{ staff_name }} {% debug %}"


HOSTILE = st.lists(st.one_of(
    st.text(max_size=30),
    st.sampled_from(["{{ client_name }}", "{{ staff_name }}", "{{", "}}", "{%", "%}",
                     "{% now 'Y' %}", "{% debug %}", "{% include '/etc/passwd' %}",
                     "{{ request.user.password }}", "{% load log %}{% get_admin_log 9 as x %}",
                     "{# comment #}", "{{ client_name|safe }}", "\x00", "\u202e"])),
    max_size=20).map("".join)


@given(body=HOSTILE, name=st.text(max_size=40))
def test_hostile_template_bodies_never_raise_and_never_run_tags(body, name):
    values = {**VALUES, "client_name": name}
    text = answer_text(body, values)
    assert isinstance(text, str)
    # Independently of the code: cut out every exact "{{ client_name }}"-like variable,
    # what is left must be the body's text around them, unchanged (tags included).
    pattern = r"\{\{\s*(client_name|service_name|ticket_number|staff_name)\s*\}\}"
    pieces = re.split(pattern, body)
    rebuilt = "".join(piece if index % 2 == 0 else values[piece]
                      for index, piece in enumerate(pieces))
    assert text == rebuilt


@given(body=st.text(max_size=200).filter(lambda text: "{{" not in text))
def test_a_body_without_variables_comes_back_unchanged(body):
    assert answer_text(body, VALUES) == body


# --- who sees and edits which ---------------------------------------------------------

@pytest.fixture
def world(db):
    """Two support departments; Ann and Ben work the technical one, Cleo billing; Meg
    manages shared templates of the technical one; an administrator."""
    technical = SupportDepartmentFactory(slug="technical", name="Technical support")
    billing = SupportDepartmentFactory(slug="billing", name="Billing",
                                       staff_departments=["Billing team"])
    support_rights = DEFAULT_DEPARTMENTS["Technical support"]
    tech_group = department_sync(name="Technical support", codenames=support_rights)
    bill_group = department_sync(name="Billing team", codenames=support_rights)
    people = {}
    for name, group in [("ann", tech_group), ("ben", tech_group), ("cleo", bill_group),
                        ("meg", tech_group)]:
        people[name] = StaffFactory(name=name.title(), email=f"{name}@staff.example")
        people[name].groups.add(group)
    people["meg"].user_permissions.add(Permission.objects.get(
        codename="manage_shared_templates"))
    people["admin"] = AdminFactory()
    templates = {
        "ann's": AnswerTemplate.objects.create(name="ann's", body="x",
                                               scope=TemplateScope.PERSONAL,
                                               owner=people["ann"]),
        "technical": AnswerTemplate.objects.create(name="technical", body="x",
                                                   scope=TemplateScope.DEPARTMENT,
                                                   department=technical),
        "billing": AnswerTemplate.objects.create(name="billing", body="x",
                                                 scope=TemplateScope.DEPARTMENT,
                                                 department=billing),
        "everyone": AnswerTemplate.objects.create(name="everyone", body="x",
                                                  scope=TemplateScope.EVERYONE),
    }
    return {"people": people, "templates": templates, "technical": technical}


@pytest.mark.parametrize(("who", "sees"), [
    ("ann", {"ann's", "technical", "everyone"}),
    ("ben", {"technical", "everyone"}),
    ("cleo", {"billing", "everyone"}),
    ("meg", {"technical", "everyone"}),
    ("admin", {"technical", "billing", "everyone"}),  # every queue, nobody's own
])
def test_who_sees_which_template(world, who, sees):
    user = world["people"][who]
    assert {template.name for template in answer_templates_for(user)} == sees


@pytest.mark.parametrize(("who", "edits"), [
    ("ann", {"ann's"}),
    ("ben", set()),
    ("cleo", set()),
    ("meg", {"technical", "everyone"}),
    ("admin", {"ann's", "technical", "billing", "everyone"}),
])
def test_who_edits_which_template(world, who, edits):
    user = world["people"][who]
    got = {name for name, template in world["templates"].items()
           if template_editable_by(template, user)}
    assert got == edits


def _add(client, **data):
    return client.post(reverse("admin:support_answertemplate_add"),
                       {"name": "Thanks", "body": "Thanks, {{ client_name }}!", **data})


def test_support_staff_write_their_own_templates_only(client, world):
    ann = world["people"]["ann"]
    client.force_login(ann)
    response = _add(client, scope="everyone")
    assert response.status_code == 200  # the form again: not a choice Ann has
    assert not AnswerTemplate.objects.filter(name="Thanks").exists()
    assert _add(client, scope="personal").status_code == 302
    mine = AnswerTemplate.objects.get(name="Thanks")
    assert (mine.scope, mine.owner, mine.department) == ("personal", ann, None)

    shared = world["templates"]["everyone"]
    page = client.get(reverse("admin:support_answertemplate_change", args=[shared.pk]))
    assert page.status_code == 200
    assert 'name="body"' not in page.content.decode()  # only to look at
    client.post(reverse("admin:support_answertemplate_delete", args=[shared.pk]),
                {"post": "yes"})
    assert AnswerTemplate.objects.filter(pk=shared.pk).exists()


def test_someone_elses_personal_template_is_not_there(client, world):
    client.force_login(world["people"]["ben"])
    theirs = world["templates"]["ann's"]
    listing = client.get(reverse("admin:support_answertemplate_changelist")).content.decode()
    assert "technical" in listing
    assert "ann&#x27;s" not in listing
    assert "ann's" not in listing
    response = client.get(reverse("admin:support_answertemplate_change", args=[theirs.pk]))
    assert response.status_code == 302  # "does not exist", back to the index


def test_managers_share_with_their_departments(client, world):
    client.force_login(world["people"]["meg"])
    response = _add(client, scope="department")
    assert "Choose the department that shares it." in response.content.decode()
    billing = world["templates"]["billing"].department
    _add(client, scope="department", department=billing.pk)  # not one Meg works
    assert not AnswerTemplate.objects.filter(name="Thanks").exists()
    assert _add(client, scope="department",
                department=world["technical"].pk).status_code == 302
    assert AnswerTemplate.objects.get(name="Thanks").department == world["technical"]


# --- the picker on a ticket's page ----------------------------------------------------

@pytest.fixture
def ticket(world):
    client = ClientFactory(name="Dana Ltd")
    return tickets.ticket_open(client=client, user=None, department=world["technical"],
                               service=ServiceFactory(client=client, name="vps-7.example"),
                               subject="Slow disk", body="It is slow.", now=WHEN)


def test_the_picker_offers_the_templates_in_scope(client, world, ticket):
    client.force_login(world["people"]["ann"])
    page = client.get(reverse("admin:support_ticket_change", args=[ticket.pk])).content.decode()
    start = page.index('name="answer_template"')
    picker = page[start:page.index("</select>", start)]
    options = re.findall(r'<option value="\d+">([^<]+)</option>', picker)
    assert options == ["ann&#x27;s", "technical", "everyone"]
    assert "My templates" in picker
    assert "Everyone&#x27;s templates" in picker


def test_choosing_a_template_fills_the_text_for_this_ticket(client, world, ticket):
    ann = world["people"]["ann"]
    client.force_login(ann)
    template = AnswerTemplate.objects.create(
        name="Hi", scope=TemplateScope.PERSONAL, owner=ann,
        body="Hello {{ client_name }}, about {{ service_name }} ({{ ticket_number }}). "
             "{{ staff_name }} {% debug %}")
    expected = (f"Hello Dana Ltd, about vps-7.example ({ticket.display_number}). "
                "Ann {% debug %}")
    url = reverse("admin:support_ticket_answer_template", args=[ticket.pk])
    swapped = client.post(url, {"answer_template": template.pk, "body": ""},
                          HTTP_HX_REQUEST="true")
    assert swapped.status_code == 200
    assert swapped.content.decode().startswith("<textarea")
    assert 'id="id_body"' in swapped.content.decode()
    assert f">\n{expected}</textarea>" in swapped.content.decode()

    # What was written stays; the template comes after it.
    added = client.post(url, {"answer_template": template.pk, "body": "Dear client"},
                        HTTP_HX_REQUEST="true").content.decode()
    assert f">\nDear client\n\n{expected}</textarea>" in added

    # Without JavaScript: the ticket's page with the template filled in.
    redirected = client.get(url + f"?answer_template={template.pk}")
    assert redirected.status_code == 302
    page = client.get(redirected["Location"]).content.decode()
    assert f">\n{expected}</textarea>" in page


def test_a_template_out_of_scope_fills_nothing(client, world, ticket):
    client.force_login(world["people"]["ben"])
    theirs = world["templates"]["ann's"]
    url = reverse("admin:support_ticket_answer_template", args=[ticket.pk])
    response = client.post(url, {"answer_template": theirs.pk}, HTTP_HX_REQUEST="true")
    assert response.status_code == 404
    assert client.post(url, {"answer_template": ""},
                       HTTP_HX_REQUEST="true").status_code == 204
    assert client.post(url, {"answer_template": "1; drop"},
                       HTTP_HX_REQUEST="true").status_code == 204
    page = client.get(reverse("admin:support_ticket_change", args=[ticket.pk])
                      + f"?answer_template={theirs.pk}").content.decode()
    assert re.search(r'<textarea name="body"[^>]*>\n</textarea>', page)


def test_a_templated_answer_reaches_the_client_as_written(world, ticket):
    """The mail is plain text: what staff wrote, apostrophes and brackets included, not
    HTML entities."""
    ann = world["people"]["ann"]
    text = answer_text("We're on it, {{ client_name }} <3 & co.", {"client_name": "O'Neil"})
    tickets.ticket_reply_staff(ticket=ticket, user=ann, body=text, now=WHEN)
    notification = _client_mail().get()
    assert "We're on it, O'Neil <3 & co." in notification.body
