"""Notifications written in bulk (the billing clock's): each event mailed once per key,
rendered from the facts as they were when it happened, sent in batches by the workers or
by the sweep, never twice, and not at all once staff switch the message off."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.core import mail

from accounts.models import MessageTemplate, Notification
from accounts.notifications import (
    Notice,
    notifications_send,
    notifications_send_pending,
    notify_many,
)
from tests.factories.accounts import ClientFactory
from tests.factories.services import ServiceFactory

pytestmark = pytest.mark.django_db
AT = datetime(2027, 3, 1, tzinfo=UTC)


def _notices(count=3):
    services = [ServiceFactory(name=f"site{n}.example") for n in range(count)]
    return services, [Notice(s.client, f"expiry:{s.pk}", {"service": s,
                                                          "expires_on": date(2027, 3, 8)})
                      for s in services]


def test_each_event_is_written_once_and_rendered_when_sent(django_capture_on_commit_callbacks):
    services, notices = _notices()

    with django_capture_on_commit_callbacks() as sent_later:
        first = notify_many(event="expiry_soon", notices=notices, at=AT)
    again = notify_many(event="expiry_soon", notices=notices, at=AT)

    assert len(first) == 3
    assert again == []
    assert len(sent_later) == 1  # handed to the workers in one batch
    assert not mail.outbox
    services[0].name = "renamed.example"  # the mail is rendered when it is sent
    services[0].save()

    assert notifications_send(first) == 3
    assert notifications_send(first) == 0  # never twice
    subjects = sorted(message.subject for message in mail.outbox)
    assert subjects == ["renamed.example expires on March 8, 2027",
                        "site1.example expires on March 8, 2027",
                        "site2.example expires on March 8, 2027"]
    assert all(n.created_at == AT for n in Notification.objects.all())
    assert Notification.objects.filter(sent_at__isnull=True).count() == 0


def test_the_sweep_sends_what_no_batch_sent():
    _, notices = _notices(2)
    notify_many(event="expiry_soon", notices=notices, at=AT)

    assert notifications_send_pending(now=AT + timedelta(minutes=1),
                                      older_than=timedelta(minutes=5)) == 0
    assert notifications_send_pending(now=AT + timedelta(minutes=10),
                                      older_than=timedelta(minutes=5)) == 2
    assert len(mail.outbox) == 2


def test_a_message_switched_off_is_not_written_or_not_sent():
    _, notices = _notices(2)
    ids = notify_many(event="expiry_soon", notices=notices[:1], at=AT)
    MessageTemplate.objects.create(event="expiry_soon", subject="s", body="b",
                                   is_active=False)

    assert notify_many(event="expiry_soon", notices=notices[1:], at=AT) == []
    assert notifications_send(ids) == 0
    assert not mail.outbox


def test_an_unknown_event_is_refused():
    with pytest.raises(ValueError, match="Unknown event"):
        notify_many(event="nope", notices=[Notice(ClientFactory(), "k", {})], at=AT)
