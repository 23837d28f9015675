"""The signed plus-address a client may answer to: ``support+t123456.<signature>@domain``.
The signature (a salted HMAC of the ticket) keeps a guessed number from threading into a
stranger's ticket."""

from __future__ import annotations

import re

from django.core import signing
from django.utils.crypto import constant_time_compare

PLUS_RE = re.compile(r"\+t(\d{6})\.([A-Za-z0-9_-]+)@", re.IGNORECASE)
PLUS_SALT = "support.reply-address"
SIGNATURE_CHARS = 16


def plus_signature(ticket) -> str:
    return signing.Signer(salt=PLUS_SALT).signature(f"{ticket.pk}:{ticket.number}")[
        :SIGNATURE_CHARS]


def reply_address(ticket, mailbox: str) -> str:
    local, _at, domain = mailbox.partition("@")
    return f"{local.split('+')[0]}+t{ticket.number}.{plus_signature(ticket)}@{domain}"


def signature_matches(ticket, signature: str) -> bool:
    return constant_time_compare(signature, plus_signature(ticket))
