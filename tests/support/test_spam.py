"""The spam list: which messages a rule catches (a table a person checked), that hostile
headers never make matching raise, and what a hit does to a received message."""

import email
import email.policy

import pytest
from django.core import mail
from django.urls import reverse
from hypothesis import given
from hypothesis import settings as settings_hypothesis
from hypothesis import strategies as st

from accounts.models import Notification
from accounts.staff_roles import DEFAULT_DEPARTMENTS, department_sync
from support import inbound
from support.models import InboundOutcome, Message, SpamRule, TicketStatus
from support.spam import DEFAULT_RULES, spam_match, spam_rules_default
from tests.factories.accounts import ClientFactory, ClientUserFactory, StaffFactory, UserFactory
from tests.factories.support import WHEN, SupportDepartmentFactory, TicketFactory

K = SpamRule.Kind


def _message(headers: str, sender: str = "Someone <someone@mail.example>",
             subject: str = "Hello") -> email.message.EmailMessage:
    raw = f"From: {sender}\r\nSubject: {subject}\r\n{headers}\r\nBody\r\n"
    return email.message_from_bytes(raw.encode(), policy=email.policy.default)


def _rule(kind, value, header="", enabled=True) -> SpamRule:
    return SpamRule(kind=kind, header=header, value=value, enabled=enabled)


# (rule, message headers, From, Subject) -> caught?
TABLE = [
    # sender address: the whole address, any letter case, never a part of it
    (_rule(K.SENDER, "bad@spam.example"), "", "Bad <bad@spam.example>", "Hi", True),
    (_rule(K.SENDER, "BAD@Spam.Example"), "", "bad@spam.example", "Hi", True),
    (_rule(K.SENDER, "bad@spam.example"), "", "notbad@spam.example", "Hi", False),
    (_rule(K.SENDER, "bad@spam.example"), "", "bad@spam.example.org", "Hi", False),
    # sender domain: the domain and its subdomains, not a look-alike
    (_rule(K.DOMAIN, "spam.example"), "", "a@spam.example", "Hi", True),
    (_rule(K.DOMAIN, "spam.example"), "", "a@mx1.spam.example", "Hi", True),
    (_rule(K.DOMAIN, "@spam.example"), "", "a@SPAM.example", "Hi", True),
    (_rule(K.DOMAIN, "spam.example"), "", "a@notspam.example", "Hi", False),
    (_rule(K.DOMAIN, "spam.example"), "", "a@spam.example.net", "Hi", False),
    (_rule(K.DOMAIN, "spam.example"), "", "", "Hi", False),
    # subject: a part of it, any case, runs of white space as one
    (_rule(K.SUBJECT, "cheap pills"), "", "a@b.example", "Buy CHEAP   Pills now", True),
    (_rule(K.SUBJECT, "cheap pills"), "", "a@b.example", "Cheap hosting", False),
    (_rule(K.SUBJECT, "выигрыш"), "", "a@b.example",
     "=?utf-8?b?0JLQsNGIINCy0YvQuNCz0YDRi9GI?=", True),  # encoded word "Ваш выигрыш"
    # header equals: the whole value, any case; every occurrence counts
    (_rule(K.HEADER_EQUALS, "YES", "X-Spam-Flag"), "X-Spam-Flag: YES\r\n", "a@b.example",
     "Hi", True),
    (_rule(K.HEADER_EQUALS, "YES", "X-Spam-Flag"), "x-spam-flag:   yes  \r\n", "a@b.example",
     "Hi", True),
    (_rule(K.HEADER_EQUALS, "YES", "X-Spam-Flag"), "X-Spam-Flag: NO\r\n", "a@b.example",
     "Hi", False),
    (_rule(K.HEADER_EQUALS, "YES", "X-Spam-Flag"), "X-Spam-Flag: YESTERDAY\r\n",
     "a@b.example", "Hi", False),
    (_rule(K.HEADER_EQUALS, "YES", "X-Spam-Flag"),
     "X-Spam-Flag: NO\r\nX-Spam-Flag: YES\r\n", "a@b.example", "Hi", True),
    (_rule(K.HEADER_EQUALS, "YES", "X-Spam-Flag"), "", "a@b.example", "Hi", False),
    # header starts with
    (_rule(K.HEADER_STARTS, "Yes", "X-Spam-Status"),
     "X-Spam-Status: Yes, score=14.2 required=5.0\r\n", "a@b.example", "Hi", True),
    (_rule(K.HEADER_STARTS, "Yes", "X-Spam-Status"),
     "X-Spam-Status: No, score=-1.0 required=5.0 tests=Yes\r\n", "a@b.example", "Hi", False),
    # header contains
    (_rule(K.HEADER_CONTAINS, "bulk-sender", "X-Mailer"), "X-Mailer: Super Bulk-Sender 9\r\n",
     "a@b.example", "Hi", True),
    (_rule(K.HEADER_CONTAINS, "bulk-sender", "X-Mailer"), "X-Mailer: Thunderbird\r\n",
     "a@b.example", "Hi", False),
    # a switched-off rule catches nothing; an empty value never catches everything
    (_rule(K.SUBJECT, "hello", enabled=False), "", "a@b.example", "Hello", False),
    (_rule(K.SUBJECT, "   "), "", "a@b.example", "Hello", False),
]


@pytest.mark.parametrize(("rule", "headers", "sender", "subject", "caught"), TABLE,
                         ids=[f"{row[0]}-{row[-1]}-{index}" for index, row in enumerate(TABLE)])
def test_which_messages_a_rule_catches(rule, headers, sender, subject, caught):
    message = _message(headers, sender=sender, subject=subject)
    assert (spam_match(message, [rule]) is rule) is caught


def test_the_first_matching_rule_in_order_is_named():
    first, second = _rule(K.DOMAIN, "spam.example"), _rule(K.SUBJECT, "pills")
    message = _message("", sender="a@spam.example", subject="pills")
    assert spam_match(message, [first, second]) is first
    assert spam_match(message, [second, first]) is second
    assert spam_match(message, []) is None


HEADER_NAMES = st.sampled_from(["From", "Subject", "X-Spam-Flag", "X-Spam-Status", "X-Mailer",
                                "Content-Type"])


@settings_hypothesis(max_examples=200, deadline=None)
@given(headers=st.lists(st.tuples(HEADER_NAMES, st.binary(max_size=300)), max_size=8),
       rule_value=st.text(max_size=50), rule_header=st.text(max_size=30),
       kind=st.sampled_from(list(K)))
def test_hostile_headers_never_make_matching_raise(headers, rule_value, rule_header, kind):
    raw = b"".join(name.encode() + b": " + value + b"\r\n" for name, value in headers)
    message = email.message_from_bytes(raw + b"\r\nbody", policy=email.policy.default)
    rule = _rule(kind, rule_value, rule_header)
    found = spam_match(message, [rule])
    assert found is None or found is rule


@pytest.mark.django_db
class TestReceivedSpam:
    @pytest.fixture(autouse=True)
    def world(self, settings, tmp_path):
        settings.MEDIA_ROOT = tmp_path
        spam_rules_default(now=WHEN)
        self.department = SupportDepartmentFactory(email="support@openbill.test")
        self.client_ = ClientFactory()
        ClientUserFactory(client=self.client_, owner=True,
                          user=UserFactory(email="alice@client.example"))
        self.ticket = TicketFactory(client=self.client_, status=TicketStatus.AWAITING_CLIENT)

    def _receive(self, headers: str, sender="alice@client.example", subject="Hi",
                 message_id="<m-1@client.example>"):
        raw = (f"From: {sender}\r\nSubject: {subject}\r\nMessage-ID: {message_id}\r\n"
               f"{headers}\r\nHello\r\n").encode()
        return raw, inbound.receive(raw, route="pipe", now=WHEN).inbound

    def test_every_installation_has_the_default_rules(self):
        assert spam_rules_default(now=WHEN) == 0  # the migration (or the fixture) added them
        assert {(rule.kind, rule.header.lower()) for rule in SpamRule.objects.all()} >= {
            (kind, header.lower()) for kind, header, _value, _note in DEFAULT_RULES}

    def test_spam_is_stored_never_a_ticket_never_answered_and_the_rule_counts_it(self):
        mail.outbox.clear()
        raw, stored = self._receive(
            "X-Spam-Status: Yes, score=9\r\n",
            subject=f"Re: {self.ticket.subject_token} buy now")  # even threaded to a ticket

        rule = SpamRule.objects.get(header__iexact="X-Spam-Status")
        assert stored.outcome == InboundOutcome.SPAM
        assert stored.spam_rule == rule
        assert bytes(stored.raw) == raw
        assert stored.ticket is None
        assert not Message.objects.exists()
        assert (rule.hits, rule.last_hit_at) == (1, WHEN)
        assert mail.outbox == []
        assert not Notification.objects.exists()

    def test_a_switched_off_rule_lets_the_mail_through(self):
        SpamRule.objects.update(enabled=False)
        _raw, stored = self._receive("X-Spam-Flag: YES\r\n")
        assert stored.outcome == InboundOutcome.TICKET_CREATED

    def test_auto_replies_and_bounces_are_judged_before_spam(self):
        _raw, stored = self._receive("X-Spam-Flag: YES\r\nAuto-Submitted: auto-replied\r\n")
        assert stored.outcome == InboundOutcome.AUTO_REPLY
        assert SpamRule.objects.get(header__iexact="X-Spam-Flag").hits == 0

    def test_a_sender_rule_catches_a_client_user_too(self):
        SpamRule.objects.create(kind=K.SENDER, value="alice@client.example", created_at=WHEN)
        _raw, stored = self._receive("")
        assert stored.outcome == InboundOutcome.SPAM


def _technical_support(client):
    employee = StaffFactory()
    employee.groups.add(department_sync(name="Technical support",
                                        codenames=DEFAULT_DEPARTMENTS["Technical support"]))
    client.force_login(employee)
    return employee


@pytest.mark.django_db
def test_technical_support_adds_a_rule_and_it_names_its_author(client):
    employee = _technical_support(client)
    response = client.post(reverse("admin:support_spamrule_add"), {
        "kind": K.HEADER_CONTAINS, "header": "X-Mailer", "value": "Bulk  Sender",
        "enabled": "on", "note": "Newsletters"})
    assert response.status_code == 302
    rule = SpamRule.objects.get(header="X-Mailer")
    assert (rule.value, rule.created_by, rule.hits) == ("Bulk Sender", employee, 0)


@pytest.mark.django_db
@pytest.mark.parametrize(("data", "field"), [
    ({"kind": K.HEADER_EQUALS, "header": "", "value": "YES"}, "header"),
    ({"kind": K.SENDER, "header": "X-Spam-Flag", "value": "a@b.example"}, "header"),
    ({"kind": K.HEADER_EQUALS, "header": "X-Spam-Flag: YES", "value": "YES"}, "header"),
    ({"kind": K.SUBJECT, "header": "", "value": "   "}, "value"),
    ({"kind": "regex", "header": "", "value": ".*"}, "kind"),
])
def test_a_bad_rule_gets_a_clear_message_and_is_not_saved(client, data, field):
    _technical_support(client)
    before = SpamRule.objects.count()
    response = client.post(reverse("admin:support_spamrule_add"), {**data, "enabled": "on"})
    assert response.status_code == 200
    assert field in response.context["adminform"].form.errors
    assert SpamRule.objects.count() == before


@pytest.mark.django_db
def test_the_same_rule_twice_in_another_letter_case_is_refused(client):
    _technical_support(client)
    SpamRule.objects.create(kind=K.SENDER, value="bad@spam.example", created_at=WHEN)
    response = client.post(reverse("admin:support_spamrule_add"), {
        "kind": K.SENDER, "header": "", "value": "BAD@spam.example", "enabled": "on"})
    assert response.status_code == 200
    assert "This rule exists already." in response.text
    assert SpamRule.objects.filter(value__iexact="bad@spam.example").count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("department", ["Accounting", "Sales"])
def test_other_departments_do_not_keep_the_spam_list(client, department):
    employee = StaffFactory()
    employee.groups.add(department_sync(name=department,
                                        codenames=DEFAULT_DEPARTMENTS[department]))
    client.force_login(employee)
    assert client.get(reverse("admin:support_spamrule_changelist")).status_code == 403
    assert client.post(reverse("admin:support_spamrule_add"), {
        "kind": K.SENDER, "value": "x@y.example", "enabled": "on"}).status_code == 403

