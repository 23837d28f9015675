"""E-mail in by an ESP's inbound webhook: django-anymail parses and checks the ESP's post
and sends its ``inbound`` signal; the receiver hands the raw message to
``support.inbound.receive``, the one way in (route WEBHOOK).

Mailgun's "forward to URL" route with raw MIME (``body-mime``) is the one wired here:
``/anymail/mailgun/inbound_mime/``, behind basic auth (``ANYMAIL_WEBHOOK_SECRET``, the
``user:password`` in the URL Mailgun is given) and Mailgun's signature
(``MAILGUN_WEBHOOK_SIGNING_KEY``). Until both are set, the address does not exist (404):
anymail alone would take unauthenticated posts with only a warning.
"""

from __future__ import annotations

import email.policy

from anymail.signals import AnymailInboundEvent
from anymail.webhooks.mailgun import MailgunInboundWebhookView
from django.conf import settings
from django.http import Http404
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from support import inbound
from support.models import InboundEmail, SupportDepartment

_mailgun_view = MailgunInboundWebhookView.as_view()


def _configured() -> bool:
    options = getattr(settings, "ANYMAIL", {}) or {}
    return bool(options.get("WEBHOOK_SECRET") and options.get("MAILGUN_WEBHOOK_SIGNING_KEY"))


@csrf_exempt
def mailgun_inbound(request, *args, **kwargs):
    if not _configured():
        raise Http404
    return _mailgun_view(request, *args, **kwargs)


def _raw(event: AnymailInboundEvent) -> bytes:
    """The message as the ESP posted it: Mailgun's raw MIME field, else anymail's parse."""
    post = getattr(event.esp_event, "POST", None)
    if post is not None and "body-mime" in post:
        # Django decoded the form field as UTF-8: the bytes of an 8-bit body in another
        # charset are lost there (docs/decisions.md); 7-bit mail, most of it, is exact.
        return post["body-mime"].encode("utf-8")
    return event.message.as_bytes(policy=email.policy.SMTP)


def _department(recipient: str | None) -> SupportDepartment | None:
    if not recipient:
        return None
    return SupportDepartment.objects.filter(email__iexact=recipient).first()


def inbound_received(sender, event: AnymailInboundEvent, esp_name: str, **kwargs) -> None:
    """anymail's ``inbound`` signal. An error here answers 500, so the ESP posts again
    later; a post repeated after success is a duplicate Message-ID, stored once."""
    inbound.receive(_raw(event), route=InboundEmail.Route.WEBHOOK,
                    department=_department(event.message.envelope_recipient),
                    now=timezone.now())
