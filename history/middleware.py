"""Who and which request: the context every history event of a request points to."""

from __future__ import annotations

from typing import Any

from pghistory.middleware import HistoryMiddleware as PgHistoryMiddleware


class HistoryMiddleware(PgHistoryMiddleware):
    """pghistory's middleware (the user, kept current through a sign-in, and the path),
    plus the method, the remote address and the client area entered as a client."""

    def get_context(self, request) -> dict[str, Any]:
        context = super().get_context(request)
        context["method"] = request.method
        context["ip"] = request.META.get("REMOTE_ADDR") or None
        client_context = getattr(request, "client_context", None)
        if client_context is not None and client_context.impersonator is not None:
            context["impersonating_client"] = client_context.client.pk
        return context
