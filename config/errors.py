"""Error answers of our own, in the site's layout."""

from __future__ import annotations

from django.shortcuts import render


def csrf_failure(request, reason: str = ""):
    """A form refused by the CSRF check (expired, from another site, without cookies):
    say so plainly; ``reason`` is Django's, for logs, not for the page."""
    return render(request, "403_csrf.html", status=403)
