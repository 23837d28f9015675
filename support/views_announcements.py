"""Client area: closing an announcement's sign-in banner (for this user, for good)."""

from __future__ import annotations

from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from accounts.decorators import client_area
from support import announcements


@require_POST
@client_area()
def announcement_dismiss(request, pk: int):
    announcements.announcement_dismiss(client=request.client_context.client,
                                       user=request.user, pk=pk, now=timezone.now())
    if request.htmx:
        return HttpResponse("")  # the banner is swapped for nothing
    # Back to the page the banner was on: a path of this site only, never a name to reverse.
    target = request.POST.get("next", "")
    if target.startswith("/") and target.isprintable() and url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return HttpResponseRedirect(target)
    return redirect("home")
