"""Staff notes on a client: written once, never edited (a correction is a new note)."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from accounts.actionlog import log_action
from accounts.models import Client, User
from backoffice.models import ClientNote

MAX_LENGTH = 5000


class NoteRefused(Exception):
    """The note cannot be written; the message says why."""


def client_note_add(*, client: Client, author: User, text: str, key: str,
                    request=None) -> ClientNote:
    """Write the note once per ``key``: the same key again returns the note it wrote."""
    text = (text or "").replace("\x00", "").strip()
    key = (key or "").strip()
    if not text:
        raise NoteRefused(_("A note needs some text."))
    if len(text) > MAX_LENGTH:
        raise NoteRefused(_("A note is at most %(count)d characters.") % {"count": MAX_LENGTH})
    if not key or len(key) > 64:
        raise NoteRefused(_("The form has expired: open the page again."))
    existing = ClientNote.objects.filter(key=key).first()
    if existing is not None:
        return _same_client(existing, client)
    try:
        with transaction.atomic():
            note = ClientNote.objects.create(client=client, author=author,
                                             author_label=author.email, text=text, key=key)
            log_action(actor=author, action="client_note.added", obj=note, client=client,
                       request=request)
    except IntegrityError:
        return _same_client(ClientNote.objects.get(key=key), client)
    return note


def _same_client(note: ClientNote, client: Client) -> ClientNote:
    # A key is the form's: used on another client's page it is someone's replay.
    if note.client_id != client.pk:
        raise NoteRefused(_("The form has expired: open the page again."))
    return note
