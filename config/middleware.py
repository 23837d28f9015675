"""Site-wide guards that sit in front of every view."""

from __future__ import annotations

from django.conf import settings
from django.shortcuts import render
from django.utils.translation import gettext as _


class RejectNulBytesMiddleware:
    """A NUL byte in any submitted value (query string, form field, file name) is
    answered with a clear 400 page and never reaches a view: PostgreSQL refuses NUL in
    text, and no honest input contains one. Forms check it too (Django's
    ProhibitNullCharactersValidator); this covers every view, whatever it reads."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if _has_nul(request):
            return render(request, "bad_input.html", {
                "message": _("What you sent contains a character that cannot be stored (a NUL "
                             "byte). Remove it and try again; nothing was changed.")},
                status=400)
        return self.get_response(request)


# Received e-mail posted by an ESP as a form (Mailgun's raw MIME): a message may hold NUL
# bytes, and it is stored as it came (support.inbound keeps the raw bytes and cleans the
# text it reads), so refusing it would lose mail and make the ESP retry forever.
RAW_MAIL_PATHS = ("/anymail/",)


def _has_nul(request) -> bool:
    if request.path.startswith(RAW_MAIL_PATHS) and request.method == "POST":
        return False
    if "\x00" in request.path or "%00" in request.META.get("QUERY_STRING", ""):
        return True
    if request.method != "POST":
        return False
    content_type = request.META.get("CONTENT_TYPE", "").lower()
    if not content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        return False  # webhooks and APIs read their own bodies
    values = [v for _key, vs in request.POST.lists() for v in vs]
    values += [k for k in request.POST]
    values += [f.name or "" for _key, fs in request.FILES.lists() for f in fs]
    return any("\x00" in value for value in values)


class PermissionsPolicyMiddleware:
    """Sends ``settings.PERMISSIONS_POLICY`` with every answer: a page that is
    compromised, or framed by one, still gets no camera, location or payment API."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        return response
