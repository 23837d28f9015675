"""E-mails to clients about billing events, each sent once per event.

``notify`` writes a Notification whose (event, key) is unique, so the same event (the
same suspension, the same payment) never mails twice, however often the clock or a
retried task reaches it; the mail goes out after the transaction commits. ``notify_many``
does the same for many clients at once (the billing clock's thousands of reminders): one
statement writes them with what their texts need (``context``: the event's facts as they
were), and the workers render and send them in batches (``accounts.tasks``), off the
clock's path; any left unsent (a lost message, a mail server that was down) are sent by
the beat's sweep.
Staff edit the texts as Message templates; these built-in ones are used until they do.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from celery import current_app
from django.apps import apps
from django.conf import settings
from django.core.mail import EmailMessage
from django.db import IntegrityError, connection, transaction
from django.db.models import Model
from django.template import Context, Template
from django.utils import timezone
from django.utils.functional import Promise

from accounts.models import Client, MessageTemplate, Notification

DEFAULT_TEMPLATES: dict[str, tuple[str, str]] = {
    "payment_received": (
        "Payment received: {{ amount }}",
        "Hello {{ client.name }},\n\nwe received your payment of {{ amount }}. "
        "Your balance is now {{ balance }}.\n\n{{ site_name }}"),
    "low_balance": (
        "Your balance is running low",
        "Hello {{ client.name }},\n\nyour balance of {{ balance }} pays about {{ days }} more "
        "day(s) of your services. Add funds to keep them running.\n\n{{ site_name }}"),
    "expiry_soon": (
        "{{ service.name }} expires on {{ expires_on }}",
        "Hello {{ client.name }},\n\n{{ service.name }} expires on {{ expires_on }}. "
        "{% if service.auto_renew %}It renews automatically from your balance."
        "{% else %}Renew it to keep it running.{% endif %}\n\n{{ site_name }}"),
    "renewal_done": (
        "{{ service.name }} is renewed",
        "Hello {{ client.name }},\n\n{{ service.name }} was renewed until {{ expires_on }} "
        "for {{ amount }}.\n\n{{ site_name }}"),
    "renewal_failed": (
        "{{ service.name }} could not be renewed",
        "Hello {{ client.name }},\n\nwe could not renew {{ service.name }}: {{ reason }}. "
        "It stops on {{ expires_on }} unless it is paid.\n\n{{ site_name }}"),
    "suspended": (
        "{{ service.name }} is suspended",
        "Hello {{ client.name }},\n\n{{ service.name }} was suspended {{ reason }}. "
        "It will be deleted on {{ delete_on }} unless it is paid.\n\n{{ site_name }}"),
    "deleted": (
        "{{ service.name }} was deleted",
        "Hello {{ client.name }},\n\n{{ service.name }} was deleted after its grace period."
        "\n\n{{ site_name }}"),
    "ticket_answered": (
        "{{ token }} {{ subject }}",
        "Hello {{ client.name }},\n\nwe answered your ticket {{ number }}:\n\n{{ body }}"
        "\n\nReply in the client area's Support center.\n\n{{ site_name }}"),
}
EVENTS = tuple(DEFAULT_TEMPLATES)


def _texts(event: str) -> tuple[str, str] | None:
    custom = MessageTemplate.objects.filter(event=event).first()
    if custom is not None:
        return (custom.subject, custom.body) if custom.is_active else None
    return DEFAULT_TEMPLATES[event]


def notify(*, client: Client, event: str, key: str, context: dict | None = None,
           headers: dict[str, str] | None = None,
           email: str | None = None) -> Notification | None:
    """Mail the client about ``event`` once per ``key``; returns the new notification, or
    None if this event was already notified (or its template is switched off).
    ``headers`` go on the mail (a support reply's Message-ID and thread), kept with the
    notification so a resend carries them too. ``email`` sends it to another of the
    client's addresses (a user of the client) instead of the client's own."""
    if event not in DEFAULT_TEMPLATES:
        raise ValueError(f"Unknown event {event!r}.")
    texts = _texts(event)
    if texts is None:
        return None
    # Plain-text mail: autoescaping would send "we&#x27;re" for "we're".
    context = Context({"client": client, "site_name": settings.SITE_NAME, **(context or {})},
                      autoescape=False)
    subject = Template(texts[0]).render(context).strip()[:200]
    body = Template(texts[1]).render(context)
    try:
        with transaction.atomic():
            notification = Notification.objects.create(client=client, event=event, key=key,
                                                       email=email or client.email,
                                                       subject=subject,
                                                       body=body, headers=headers or {})
    except IntegrityError:
        return None
    # A worker sends it: the request never waits on (or fails with) the mail server.
    transaction.on_commit(
        lambda: current_app.send_task(SEND_NOTIFICATIONS, ([notification.pk],)))
    return notification


def _send(notification_id: int) -> bool:
    """Send one notification unless it was sent: it is claimed first (its sent time set),
    so a batch task and the sweep never both mail it; a failed send gives the claim back.
    One written by ``notify_many`` is rendered first."""
    claimed = Notification.objects.filter(pk=notification_id, sent_at__isnull=True).update(
        sent_at=timezone.now())
    if not claimed:
        return False
    notification = Notification.objects.select_related("client").get(pk=notification_id)
    try:
        if notification.context is not None and not notification.subject \
                and not _render_now(notification):
            return False
        EmailMessage(subject=notification.subject, body=notification.body,
                     to=[notification.email], headers=notification.headers or None).send()
    except Exception:
        Notification.objects.filter(pk=notification_id).update(sent_at=None)
        raise
    return True


@dataclass(frozen=True)
class Notice:
    """One client to tell about an event, once per key. The context's values are kept as
    they are now (dates, amounts, texts); a model instance is kept by its id and read
    when the mail is rendered."""

    client: Client
    key: str
    context: dict


SEND_NOTIFICATIONS = "accounts.tasks.send_notifications"
SEND_BATCH = 100  # mails per task: a worker's few seconds with a real mail server


def notify_many(*, event: str, notices: list[Notice], at: datetime) -> list[int]:
    """``notify`` for many clients in one statement: each notice not notified before is
    written (``at`` is its time) with its context, and handed after commit to the workers,
    which render and send them in batches. Returns the ids of the new notifications."""
    if event not in DEFAULT_TEMPLATES:
        raise ValueError(f"Unknown event {event!r}.")
    if not notices or _texts(event) is None:
        return []
    with connection.cursor() as cursor:
        cursor.execute("""
            INSERT INTO accounts_notification (client_id, event, key, email, subject, body,
                                               context, headers, created_at)
            SELECT n.client_id, %s, n.key, n.email, '', '', c.context, '{}'::jsonb, %s
            FROM unnest(%s::bigint[], %s::text[], %s::text[]) WITH ORDINALITY
                 AS n (client_id, key, email, place)
            -- The contexts as one JSON document: an array of thousands of JSON texts
            -- costs more to escape than to write.
            JOIN jsonb_array_elements(%s::jsonb) WITH ORDINALITY AS c (context, place)
                 USING (place)
            ON CONFLICT (event, key) DO NOTHING
            RETURNING id""", [
            event, at, [notice.client.pk for notice in notices],
            [notice.key for notice in notices], [notice.client.email for notice in notices],
            json.dumps([_frozen(notice.context) for notice in notices])])
        ids = [row[0] for row in cursor.fetchall()]
    batches = [ids[i:i + SEND_BATCH] for i in range(0, len(ids), SEND_BATCH)]
    transaction.on_commit(lambda: [current_app.send_task(SEND_NOTIFICATIONS, (batch,))
                                   for batch in batches])
    return ids


def _frozen(context: dict) -> dict:
    frozen = {}
    for name, value in context.items():
        if isinstance(value, Model):
            frozen[name] = {"$model": value._meta.label, "pk": value.pk}
        elif isinstance(value, datetime):
            frozen[name] = {"$datetime": value.isoformat()}
        elif isinstance(value, date):
            frozen[name] = {"$date": value.isoformat()}
        else:
            frozen[name] = str(value) if isinstance(value, Decimal | Promise) else value
    return frozen


def _thawed(frozen: dict) -> dict:
    context = {}
    for name, value in frozen.items():
        if isinstance(value, dict) and "$model" in value:
            context[name] = apps.get_model(value["$model"]).objects.filter(
                pk=value["pk"]).first()
        elif isinstance(value, dict) and "$datetime" in value:
            context[name] = datetime.fromisoformat(value["$datetime"])
        elif isinstance(value, dict) and "$date" in value:
            context[name] = date.fromisoformat(value["$date"])
        else:
            context[name] = value
    return context


def _render_now(notification: Notification) -> bool:
    """Render a notification written by ``notify_many`` with the event's texts as they are
    now; False (and it is not sent) if staff have switched its template off since."""
    texts = _texts(notification.event)
    if texts is None:
        Notification.objects.filter(pk=notification.pk).update(
            subject="—", body="Not sent: the message template was switched off.")
        return False
    context = Context({"client": notification.client, "site_name": settings.SITE_NAME,
                       **_thawed(notification.context)}, autoescape=False)  # plain text
    notification.subject = Template(texts[0]).render(context).strip()[:200] or "—"
    notification.body = Template(texts[1]).render(context)
    Notification.objects.filter(pk=notification.pk).update(subject=notification.subject,
                                                           body=notification.body)
    return True


def notifications_send(ids: list[int]) -> int:
    """Send the notifications not sent yet among ``ids``; returns how many were sent. A
    mail server that refuses one stops the batch: the rest wait for the sweep."""
    sent = 0
    for notification_id in Notification.objects.filter(
            pk__in=ids, sent_at__isnull=True).order_by("pk").values_list("pk", flat=True):
        sent += _send(notification_id)
    return sent


def notifications_send_pending(*, now: datetime, older_than: timedelta) -> int:
    """Send what was written before ``now - older_than`` and is still unsent (its task
    was lost, or the mail server was down)."""
    ids = list(Notification.objects.filter(sent_at__isnull=True,
                                           created_at__lt=now - older_than)
               .order_by("pk").values_list("pk", flat=True)[:5000])
    return notifications_send(ids)
