from __future__ import annotations

from allauth.account.forms import SignupForm as AllauthSignupForm
from allauth.account.internal.userkit import filter_users_by_email
from django import forms
from django.db import transaction

from accounts.models import Access, Client, Payer
from accounts.registration import client_register, provider_for_host
from accounts.rights import AREA_LABELS, Area


class SignupForm(AllauthSignupForm):
    """Sign-up: the client's name and kind next to allauth's e-mail and password."""

    name = forms.CharField(
        max_length=150, label="Name", help_text="Your full name, or your organisation's name."
    )
    kind = forms.ChoiceField(choices=Client.Kind.choices, initial=Client.Kind.PERSON,
                             label="I register as", widget=forms.RadioSelect)
    field_order = ["kind", "name", "email", "password1", "password2"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.provider = None

    def validate_unique_email(self, value):
        # A registered address is not an error on the form (that would tell who is a
        # client): allauth then mails its owner instead (accounts.signup_views).
        if filter_users_by_email(value):
            self.account_already_exists = True
            return value
        return super().validate_unique_email(value)

    def clean(self):
        cleaned = super().clean()
        request = getattr(self, "request", None)
        host = request.get_host() if request is not None else ""
        self.provider = provider_for_host(host)
        if self.provider is None:
            raise forms.ValidationError(
                "Sign-up is closed: no provider accepts clients on this site yet."
            )
        return cleaned

    def save(self, request):
        # The user, its e-mail address, the client and its owner membership are one
        # use case: all of them or none.
        with transaction.atomic():
            user = super().save(request)
            client_register(
                user=user,
                name=self.cleaned_data["name"],
                kind=self.cleaned_data["kind"],
                provider=self.provider,
                request=request,
            )
        return user


class PayerForm(forms.ModelForm):
    class Meta:
        model = Payer
        fields = ["kind", "name", "country", "address", "tax_id", "vat_id", "email"]
        widgets = {"address": forms.Textarea(attrs={"rows": 3})}
        help_texts = {
            "vat_id": "Companies and sole proprietors: with the country prefix in the EU.",
            "tax_id": "National tax number (INN, TIN, ...), if you have one.",
        }


class ClientDetailsForm(forms.ModelForm):
    class Meta:
        model = Client
        fields = ["name", "email", "phone"]


def _access_field(area: Area, initial: str) -> forms.ChoiceField:
    return forms.ChoiceField(choices=Access.choices, label=AREA_LABELS[area], initial=initial)


class RightsForm(forms.Form):
    services_access = _access_field(Area.SERVICES, Access.READ)
    finances_access = _access_field(Area.FINANCES, Access.NONE)
    support_access = _access_field(Area.SUPPORT, Access.MANAGE)
    settings_access = _access_field(Area.SETTINGS, Access.NONE)

    def rights(self) -> dict[Area, str]:
        return {area: self.cleaned_data[f"{area.value}_access"] for area in Area}


class InviteForm(RightsForm):
    name = forms.CharField(max_length=150)
    email = forms.EmailField(label="E-mail")
    field_order = ["name", "email"]
