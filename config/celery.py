"""The Celery application: the billing clock's workers and beat.

The beat schedule is defined here, in one place, one commented entry per job.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("openbill")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

app.conf.beat_schedule = {
    # The billing clock: runs any day not run yet (once a day, and the missed ones after
    # downtime). Every minute, so a new day starts within a minute of midnight and the
    # demo shows it soon after `make run`; a tick with nothing to do costs one query.
    # The tick plans and hands out; the workers run the day's chunks.
    "billing-tick": {
        "task": "engine.tasks.billing_tick",
        "schedule": 60.0,
    },
    # A payment that covers a client's debt resumes what was stopped, within a minute
    # even when nothing signalled it (a manual credit by staff).
    "resume-paid-services": {
        "task": "engine.tasks.resume_paid_services",
        "schedule": 60.0,
    },
    # E-mails are sent by the workers in batches as they are written; any a lost message
    # or a mail server that was down left unsent go out within a few minutes.
    "send-pending-notifications": {
        "task": "accounts.tasks.send_pending_notifications",
        "schedule": 60.0,
    },
    # A provisioning task can be lost with its message (a broker restart) or its worker;
    # the operation row survives, so queue it again. Every minute keeps "In progress"
    # short.
    "requeue-stale-operations": {
        "task": "services.tasks.requeue_stale_operations",
        "schedule": 60.0,
    },
    # Payments whose gateway timed out are settled by asking the gateway again; never
    # guessed. Every five minutes is well inside any gateway's own retry window.
    "resolve-unknown-payments": {
        "task": "payments.tasks.resolve_unknown_payments",
        "schedule": 300.0,
    },
    # Refunds a gateway has not confirmed (or did not answer) are asked about again with
    # the same idempotency key; their amount stays held on the balance meanwhile. Every
    # five minutes, like unknown payments.
    "settle-pending-refunds": {
        "task": "payments.tasks.settle_pending_refunds",
        "schedule": 300.0,
    },
    # Checkouts the client abandoned: after a day, asked once more, then failed; an
    # advance-payment invoice nothing pays any more is cancelled with a note. Hourly is
    # enough for a day-long threshold.
    "expire-abandoned-payments": {
        "task": "payments.tasks.expire_abandoned_payments",
        "schedule": 3600.0,
    },
    # Support mail to staff (support.staff_mail) is sent by a worker after the ticket's
    # transaction commits; what a lost message or a mail server that was down left
    # pending (with its error and count of tries) goes out within a few minutes. The
    # notifications sweep above cannot see these rows (accounts does not know support).
    "send-pending-staff-mail": {
        "task": "support.tasks.send_pending_staff_mail",
        "schedule": 60.0,
    },
    # Invitations to register (staff discarded a stranger's mail) whose task was lost or
    # whose mail server was down go out within a few minutes, like notifications.
    "send-pending-invitations": {
        "task": "support.tasks.send_pending_invitations",
        "schedule": 60.0,
    },
    # Support (issue 14, SLA): escalations of SLA risks and breaches, the auto-close
    # warning and close, archiving. Every minute, so a breach is escalated within a minute
    # of its target; each step is idempotent (a row per escalation, a lock and a re-check
    # per ticket), so a tick run twice does nothing twice.
    "support-sla-tick": {
        "task": "support.tasks.sla_tick",
        "schedule": 60.0,
    },
    # Support: each enabled department mailbox (Gateways) is polled for new mail every
    # minute, from the last UID taken; a poll still running (a big first import) makes the
    # next one skip that mailbox rather than wait.
    "poll-mail-gateways": {
        "task": "support.tasks.poll_mail_gateways",
        "schedule": 60.0,
    },
}
