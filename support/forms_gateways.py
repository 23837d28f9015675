"""Staff: a department mailbox's settings, its password as "set / not set" with a
"replace" input (as payment methods' secrets): the stored password never reaches the
browser, an empty input keeps it."""

from __future__ import annotations

import re

from django import forms
from django.utils.translation import gettext_lazy as _

from support.models import MailGateway

HOST_RE = re.compile(r"[a-z0-9._\-]{1,253}|[0-9a-f:]{2,39}")  # a name, IPv4 or IPv6
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}


class MailGatewayForm(forms.ModelForm):
    replace_password = forms.CharField(
        label=_("Password"), required=False, max_length=500, strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}))

    class Meta:
        model = MailGateway
        fields = ["department", "host", "port", "security", "username", "folder",
                  "is_enabled", "mark_seen"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        is_set = bool(self.instance.pk and self.instance.password)
        self.fields["replace_password"].help_text = (
            _("Set. Leave empty to keep it.") if is_set else _("Not set."))

    def clean_host(self):
        host = self.cleaned_data["host"].strip().lower()
        if not HOST_RE.fullmatch(host):
            raise forms.ValidationError(_("Enter the server's host name or address only."))
        return host

    def clean_folder(self):
        folder = self.cleaned_data["folder"].strip()
        if not folder or any(ch in folder for ch in "\r\n\x00"):
            raise forms.ValidationError(_("Enter the name of a folder, such as INBOX."))
        return folder

    def clean(self):
        cleaned = super().clean()
        security, host = cleaned.get("security"), cleaned.get("host")
        if security == MailGateway.Security.NONE and host and host not in LOCAL_HOSTS:
            # The password would cross the network in clear text.
            self.add_error("security", _("Without encryption, only a server on this "
                                         "machine (localhost) may be used."))
        if not self.instance.password and not cleaned.get("replace_password"):
            self.add_error("replace_password", _("Enter the mailbox's password."))
        return cleaned

    def save(self, commit=True):
        new = self.cleaned_data.get("replace_password") or ""
        if new:
            self.instance.password = new
        return super().save(commit=commit)
