"""The action log: one helper that every staff and client action calls."""

from __future__ import annotations

from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import models

from accounts.models import ActionLog, Client, User


def log_action(
    *,
    actor: User | None,
    action: str,
    obj: models.Model | None = None,
    client: Client | None = None,
    details: dict[str, Any] | None = None,
    request=None,
) -> ActionLog:
    """Record that ``actor`` did ``action`` (dotted, e.g. ``payer.created``) to ``obj``.

    With a request, the entry also records the staff member behind an impersonated
    client area and the remote address. ``actor=None`` means the system itself.
    """
    context = getattr(request, "client_context", None) if request is not None else None
    impersonator = context.impersonator if context is not None else None
    if client is None and isinstance(obj, Client):
        client = obj
    if client is None and obj is not None and isinstance(getattr(obj, "client", None), Client):
        client = obj.client
    return ActionLog.objects.create(
        actor=actor,
        actor_label=actor.email if actor is not None else "system",
        impersonator=impersonator,
        client=client,
        action=action,
        object_type=ContentType.objects.get_for_model(obj) if obj is not None else None,
        object_id=str(obj.pk) if obj is not None else "",
        object_repr=str(obj)[:255] if obj is not None else "",
        details=details or {},
        ip_address=_remote_addr(request),
    )


def _remote_addr(request) -> str | None:
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None
