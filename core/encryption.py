"""Secrets at rest: a text field stored as a Fernet token (AES-128-CBC with an HMAC).

The keys come from ``settings.FIELD_ENCRYPTION_KEYS`` (the environment's
``FIELD_ENCRYPTION_KEY``, comma-separated): the first encrypts, every one decrypts, so a
key is rotated by putting the new one first and re-saving. Without one, a key is derived
from ``SECRET_KEY`` (the embedded setup); production sets its own (README, "Production"),
so that changing ``SECRET_KEY`` does not lose the secrets.
"""

from __future__ import annotations

import base64
import hashlib
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models


def derived_key(secret_key: str) -> str:
    """A Fernet key of its own from SECRET_KEY: never the signing key itself."""
    digest = hashlib.sha256(b"openbill-field-encryption\x00" + secret_key.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode()


@cache
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except ValueError as error:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEY must be Fernet keys (32 url-safe base64-encoded bytes), "
            "comma-separated; make one with: python -c 'from cryptography.fernet import "
            "Fernet; print(Fernet.generate_key().decode())'") from error


def _keys() -> tuple[str, ...]:
    keys = tuple(getattr(settings, "FIELD_ENCRYPTION_KEYS", ()) or ())
    return keys or (derived_key(settings.SECRET_KEY),)


def encrypt(plain: str) -> str:
    return _fernet(_keys()).encrypt(plain.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet(_keys()).decrypt(token.encode()).decode()
    except InvalidToken as error:
        # Loud on purpose: a wrong key must not read as "no secret" and be saved over.
        raise ImproperlyConfigured(
            "A stored secret cannot be decrypted: FIELD_ENCRYPTION_KEY (or SECRET_KEY, "
            "which the key derives from when it is not set) is not the one it was "
            "encrypted with.") from error


def reencrypt(token: str) -> str:
    """The token under the first key (after a rotation)."""
    return _fernet(_keys()).rotate(token.encode()).decode()


class Decrypted(str):
    """A secret as read from the database, remembering its token: saved unchanged, it is
    written back as it was (a Fernet token is new at each encryption, so the row would
    otherwise change, and look like a new secret, at every save)."""

    token: str = ""


class EncryptedTextField(models.TextField):
    """Plain text in Python, a Fernet token in the database; the empty string stays empty
    (it means "not set"). It cannot be searched, and no form shows it
    (``editable=False`` by default): forms offer "replace" instead."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("editable", False)
        kwargs.setdefault("blank", True)
        kwargs.setdefault("default", "")
        super().__init__(*args, **kwargs)

    def from_db_value(self, value, expression, connection):
        if not value:
            return value
        plain = Decrypted(decrypt(value))
        plain.token = value
        return plain

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if isinstance(value, Decrypted) and value.token:
            return value.token
        return encrypt(value) if value else value
