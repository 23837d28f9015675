"""Client-area forms of the support center; each validates fully before anything is written."""

from __future__ import annotations

import uuid

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from core.forms import parse_id
from services.models import Service
from support.attachments import attachment_check
from support.models import Category, Priority, SupportDepartment

BODY_MAX = 50_000


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class AttachmentsField(forms.FileField):
    """Several files; each is checked (size, type sniffed from its content) here, so a bad
    one is a form error, not a half-written ticket."""

    widget = MultipleFileInput

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("label", _("Attachments"))
        kwargs.setdefault("help_text", _("Images, PDF, text or ZIP files."))
        super().__init__(**kwargs)

    def clean(self, data, initial=None):
        files = data if isinstance(data, list | tuple) else ([data] if data else [])
        if len(files) > settings.SUPPORT_ATTACHMENTS_PER_MESSAGE:
            raise ValidationError(_("Attach at most %(count)s files.")
                                  % {"count": settings.SUPPORT_ATTACHMENTS_PER_MESSAGE})
        cleaned = [super(AttachmentsField, self).clean(item, initial) for item in files]
        errors = []
        for upload in cleaned:
            try:
                attachment_check(upload)
            except ValidationError as error:
                errors.extend(error.messages)
        if errors:
            raise ValidationError(errors)
        return cleaned


class TicketForm(forms.Form):
    department = forms.ModelChoiceField(SupportDepartment.objects.all(), required=False,
                                        label=_("Department"),
                                        help_text=_("Left empty: the category's department."))
    category = forms.ModelChoiceField(Category.objects.all(), required=False,
                                      label=_("Category"))
    service = forms.ModelChoiceField(Service.objects.none(), required=False, label=_("Service"))
    priority = forms.ChoiceField(choices=Priority.choices, initial=Priority.NORMAL,
                                 label=_("Priority"))
    subject = forms.CharField(max_length=200, label=_("Subject"))
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 8}), max_length=BODY_MAX,
                           label=_("Message"))
    attachments = AttachmentsField()

    def __init__(self, *args, client, **kwargs):
        super().__init__(*args, **kwargs)
        # Only this client's services can be chosen: another's id is "not a valid choice".
        self.fields["service"].queryset = Service.objects.filter(client=client).exclude(
            status="deleted").order_by("name")
        service = parse_id(self.initial.pop("service", None))
        if service is not None and self.fields["service"].queryset.filter(pk=service).exists():
            self.initial["service"] = service

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("department") is None:
            category = cleaned.get("category")
            if category is None:
                self.add_error("department", _("Choose a department or a category."))
            else:
                cleaned["department"] = category.department
        return cleaned


class ReplyForm(forms.Form):
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 6}), max_length=BODY_MAX,
                           label=_("Your reply"))
    attachments = AttachmentsField()


class RatingForm(forms.Form):
    rating = forms.TypedChoiceField(coerce=int, label=_("Rating"),
                                    choices=[(n, str(n)) for n in range(5, 0, -1)],
                                    widget=forms.RadioSelect)
    comment = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False,
                              max_length=2000, label=_("Comment"))


OUT_OF_DATE = _("The form is out of date: open the ticket again.")


class StaffReplyForm(forms.Form):
    kind = forms.ChoiceField(choices=[("staff", _("Reply to the client")),
                                      ("internal_note", _("Internal note"))],
                             initial="staff", widget=forms.RadioSelect, label=_("Send as"))
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 8}), max_length=BODY_MAX,
                           label=_("Message"))
    attachments = AttachmentsField()
    # The newest message shown with the form (support.collision) and the form's own token
    # (a double submit stores the answer once).
    seen_up_to = forms.IntegerField(min_value=0, max_value=2**63 - 1, widget=forms.HiddenInput,
                                    error_messages=dict.fromkeys(
                                        ["required", "invalid", "min_value", "max_value"],
                                        OUT_OF_DATE))
    token = forms.RegexField(regex=r"^[0-9a-f]{32}$", widget=forms.HiddenInput,
                             error_messages=dict.fromkeys(["required", "invalid"],
                                                          OUT_OF_DATE))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound and "token" not in self.initial:
            self.initial["token"] = uuid.uuid4().hex

    def full_clean(self):
        super().full_clean()
        # One message for the hidden fields, however many of them are wrong.
        wrong = [name for name in ("seen_up_to", "token") if self._errors.pop(name, None)]
        if wrong:
            self.add_error(None, OUT_OF_DATE)
