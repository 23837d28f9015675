"""What a worker does with the client mail the product writes ahead: `notify` hands each
notification to a Celery task after commit (accounts.tasks.send_notifications); tests
that read the mail run that task's work here instead of starting a worker."""

from accounts.models import Notification
from accounts.notifications import notifications_send


def notifications_deliver() -> int:
    """Send every notification written and not sent yet, as the workers would."""
    return notifications_send(list(
        Notification.objects.filter(sent_at__isnull=True).values_list("pk", flat=True)))
