"""Mail to people who are not clients (an invitation to register): each written ahead as a
row (support.models.SenderInvitation) and sent from a Celery task after commit; any left
unsent (a lost task, a mail server that was down) are sent by the beat's sweep."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.core.mail import EmailMessage

from support.models import SenderInvitation

log = logging.getLogger(__name__)


def invitation_send(invitation_id: int, *, now: datetime) -> bool:
    """Send one invitation unless it was sent: it is claimed first (its sent time set), so
    the task and the sweep never both mail it; a failed send gives the claim back."""
    claimed = SenderInvitation.objects.filter(pk=invitation_id, sent_at__isnull=True).update(
        sent_at=now, error="")
    if not claimed:
        return False
    invitation = SenderInvitation.objects.get(pk=invitation_id)
    headers = dict(invitation.headers or {})
    try:
        EmailMessage(subject=invitation.subject, body=invitation.body,
                     from_email=headers.get("From"), to=[invitation.email],
                     headers=headers).send()
    except Exception as error:
        SenderInvitation.objects.filter(pk=invitation_id).update(
            sent_at=None, error=f"{type(error).__name__}: {error}"[:2000])
        raise
    return True


def invitations_send_pending(*, now: datetime, older_than: timedelta) -> int:
    """Send what was written before ``now - older_than`` and is still unsent."""
    sent = 0
    for pk in (SenderInvitation.objects.filter(sent_at__isnull=True,
                                               created_at__lt=now - older_than)
               .order_by("pk").values_list("pk", flat=True)[:500]):
        try:
            sent += invitation_send(pk, now=now)
        except Exception:  # one refused address must not hold back the others
            log.exception("Invitation %s could not be sent", pk)
    return sent
