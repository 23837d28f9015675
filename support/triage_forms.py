"""Forms of the E-mail screen's decisions; each validates fully before anything is written."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import AutocompleteSelect
from django.utils.translation import gettext_lazy as _

from accounts.models import Client
from core.forms import parse_id
from services.models import Service
from support.models import Category, Priority, SpamRule, Ticket
from support.selectors import staff_support_departments


class IdAutocompleteSelect(AutocompleteSelect):
    """Django's autocomplete, which looks up the submitted value to show it again: a value
    that is no row id (typed by hand) is left out instead of failing the page."""

    def optgroups(self, name, value, attr=None):
        return super().optgroups(name, [v for v in value if parse_id(v) is not None], attr)


class TicketFromMailForm(forms.Form):
    client = forms.ModelChoiceField(
        Client.objects.all(), label=_("Client"),
        widget=IdAutocompleteSelect(Ticket._meta.get_field("client"), admin.site),
        help_text=_("Search by name, e-mail or number."))
    department = forms.ModelChoiceField(None, label=_("Department"))
    category = forms.ModelChoiceField(Category.objects.all(), label=_("Category"),
                                      required=False)
    priority = forms.ChoiceField(label=_("Priority"), choices=Priority.choices,
                                 initial=Priority.NORMAL)
    service = forms.ModelChoiceField(
        Service.objects.all(), label=_("Service"), required=False,
        widget=IdAutocompleteSelect(Ticket._meta.get_field("service"), admin.site),
        help_text=_("Optional: one of the client's services."))
    subject = forms.CharField(label=_("Subject"), max_length=200,
                              widget=forms.TextInput(attrs={"class": "vTextField"}))

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        # Only the queues this member of staff works.
        self.fields["department"].queryset = staff_support_departments(user)

    def clean(self):
        data = super().clean()
        client, service = data.get("client"), data.get("service")
        if client is not None and service is not None and service.client_id != client.pk:
            self.add_error("service", _("This service belongs to another client; choose one "
                                        "of %(client)s's services.") % {"client": client})
        return data


class DiscardForm(forms.Form):
    invite = forms.BooleanField(
        label=_("Reply with an invitation to register"), required=False,
        help_text=_("The sender gets a short mail with the sign-up address, once."))

    def __init__(self, *args, can_invite: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.can_invite = can_invite
        if not can_invite:
            # Greyed out in the page; a value sent anyway is refused by clean_invite.
            self.fields["invite"].widget.attrs["disabled"] = True
            self.fields["invite"].help_text = _(
                "Not offered: the sender has an account already, wrote from no valid "
                "address, or the message is spam.")

    def clean_invite(self):
        invite = self.cleaned_data.get("invite")
        if invite and not self.can_invite:
            raise forms.ValidationError(_("This sender cannot be invited."))
        return invite


class BlockForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Block"), widget=forms.RadioSelect, initial=SpamRule.Kind.SENDER,
        choices=[(SpamRule.Kind.SENDER, _("this sender address")),
                 (SpamRule.Kind.DOMAIN, _("every address of the sender's domain"))])


class SpamRuleForm(forms.ModelForm):
    class Meta:
        model = SpamRule
        fields = ["kind", "header", "value", "enabled", "note"]

    def clean(self):
        data = super().clean()
        kind, header = data.get("kind"), (data.get("header") or "").strip()
        if kind in SpamRule.HEADER_KINDS and not header:
            self.add_error("header", _("Name the header, e.g. X-Spam-Flag."))
        if kind and kind not in SpamRule.HEADER_KINDS and header:
            self.add_error("header", _("Only header rules name a header; leave it empty."))
        if header and (":" in header or any(ch.isspace() for ch in header)):
            self.add_error("header", _("A header name has no colon or spaces."))
        data["header"] = header
        if "value" in data:
            data["value"] = " ".join(data["value"].split())
            if not data["value"]:
                self.add_error("value", _("A rule needs a value."))
        return data
