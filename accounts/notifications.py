"""E-mails to clients about billing events, each sent once per event.

``notify`` writes a Notification whose (event, key) is unique, so the same event (the
same suspension, the same payment) never mails twice, however often the clock or a
retried task reaches it; the mail goes out after the transaction commits. Staff edit
the texts as Message templates; these built-in ones are used until they do.
"""

from __future__ import annotations

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.template import Context, Template
from django.utils import timezone

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
}
EVENTS = tuple(DEFAULT_TEMPLATES)


def _texts(event: str) -> tuple[str, str] | None:
    custom = MessageTemplate.objects.filter(event=event).first()
    if custom is not None:
        return (custom.subject, custom.body) if custom.is_active else None
    return DEFAULT_TEMPLATES[event]


def notify(*, client: Client, event: str, key: str, context: dict | None = None
           ) -> Notification | None:
    """Mail the client about ``event`` once per ``key``; returns the new notification, or
    None if this event was already notified (or its template is switched off)."""
    if event not in DEFAULT_TEMPLATES:
        raise ValueError(f"Unknown event {event!r}.")
    texts = _texts(event)
    if texts is None:
        return None
    context = Context({"client": client, "site_name": settings.SITE_NAME, **(context or {})})
    subject = Template(texts[0]).render(context).strip()[:200]
    body = Template(texts[1]).render(context)
    try:
        with transaction.atomic():
            notification = Notification.objects.create(client=client, event=event, key=key,
                                                       email=client.email, subject=subject,
                                                       body=body)
    except IntegrityError:
        return None
    transaction.on_commit(lambda: _send(notification.pk))
    return notification


def _send(notification_id: int) -> None:
    notification = Notification.objects.get(pk=notification_id)
    if notification.sent_at is not None:
        return
    send_mail(subject=notification.subject, message=notification.body, from_email=None,
              recipient_list=[notification.email])
    Notification.objects.filter(pk=notification_id).update(sent_at=timezone.now())
