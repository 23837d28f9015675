"""The back office's own records: staff notes on a client."""

import pgtrigger
from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Client


class ClientNote(models.Model):
    """A note staff keep on a client: append-only, so what was written stays as written
    and who wrote it (a correction is a new note)."""

    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="staff_notes",
                               verbose_name=_("client"))
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                               related_name="+", verbose_name=_("author"))
    # Kept as text so the note still says who wrote it after the user is deleted.
    author_label = models.CharField(_("author"), max_length=254)
    text = models.TextField(_("text"), max_length=5000)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    # From the form that wrote it: a double submit finds the note already there.
    key = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("client note")
        verbose_name_plural = _("client notes")
        indexes = [models.Index(fields=["client", "created_at"])]
        # Append-only in the database too: nothing rewrites a note.
        triggers = [pgtrigger.Protect(name="client_note_append_only",
                                      operation=pgtrigger.Update)]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.author_label}"


# Current activity (Statistics): a page, not a table.
class ActivityAccess(models.Model):
    """No table: only the permission to see who is signed in now and the operations
    queue. Not given to any department by default: administrators have it."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [("view_current_activity", _("Can see the current activity"))]

    def __str__(self) -> str:
        return str(_("Current activity"))
