from __future__ import annotations

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render

from accounts.models import Access
from accounts.rights import Area


def client_area(area: Area | None = None, level: str = Access.READ):
    """A client-area view: signed in, inside a client account, with the right to ``area``.

    A user without the right sees a page that says which right is missing; nothing runs.
    A member of staff who has not entered a client is sent back to the staff panel.
    """

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapper(request, *args, **kwargs):
            context = request.client_context
            if context is None:
                if request.user.is_staff:
                    messages.info(request, "Choose a client and use “Enter as client” first.")
                    return redirect("admin:accounts_client_changelist")
                return render(request, "accounts/no_client.html", status=403)
            if area is not None and not context.can(area, level):
                return render(
                    request,
                    "accounts/no_access.html",
                    {"area": area, "level": Access(level)},
                    status=403,
                )
            return view(request, *args, **kwargs)

        return wrapper

    return decorator
