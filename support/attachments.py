"""Attachments: their type is sniffed from the content, never taken from the name."""

from __future__ import annotations

import secrets

import filetype
from django.conf import settings
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

SNIFF_BYTES = 8192


def sniff_content_type(head: bytes) -> str:
    """The type the bytes say they are: a known signature, else plain text when they
    decode as UTF-8 without control characters, else unknown."""
    kind = filetype.guess(head)
    if kind is not None:
        return kind.mime
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        # A multi-byte character may be cut at the sniffing limit.
        try:
            text = head[:-3].decode("utf-8")
        except UnicodeDecodeError:
            return "application/octet-stream"
    if any(ord(ch) < 32 and ch not in "\t\n\r\f" for ch in text):
        return "application/octet-stream"
    return "text/plain"


def attachment_check(upload) -> str:
    """The sniffed type of an uploaded file, or a ValidationError that says what is wrong."""
    limit = settings.SUPPORT_ATTACHMENT_MAX_BYTES
    if upload.size > limit:
        raise ValidationError(
            _("%(name)s is %(size)s; files may be at most %(limit)s.")
            % {"name": upload.name, "size": filesizeformat(upload.size),
               "limit": filesizeformat(limit)}, code="too_big")
    upload.seek(0)
    head = upload.read(SNIFF_BYTES)
    upload.seek(0)
    content_type = sniff_content_type(head)
    if content_type not in settings.SUPPORT_ATTACHMENT_TYPES:
        raise ValidationError(
            _("%(name)s is not an allowed type of file (images, PDF, text or ZIP).")
            % {"name": upload.name}, code="type")
    return content_type


def stored_name() -> str:
    return secrets.token_hex(16)
