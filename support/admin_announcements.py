"""Staff panel: Notifications, the announcements clients see on the home page and after
sign-in, with a preview of how they look and whom they reach."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import AutocompleteSelectMultiple
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.admin_base import StaffModelAdmin
from core.forms import parse_id
from services.models import ProductType
from support.announcements import audience_clients, body_clean, body_html, is_shown
from support.models import Announcement, AnnouncementAudience

VIEW_PERMISSION = "support.view_announcement"


class ServicesWidget(AutocompleteSelectMultiple):
    """Django's autocomplete, which looks up a rejected form's values to show them again:
    only well-formed ids are looked up, so hostile input is a form error, not a 500."""

    def optgroups(self, name, value, attr=None):
        ids = [str(parsed) for parsed in map(parse_id, value) if parsed is not None]
        return super().optgroups(name, ids, attr)


def _product_types(label, help_text):
    return forms.TypedMultipleChoiceField(
        choices=ProductType.choices, required=False, label=label, help_text=help_text,
        widget=forms.CheckboxSelectMultiple)


class AnnouncementForm(forms.ModelForm):
    audience_product_types = _product_types(
        gettext_lazy("Product types"),
        gettext_lazy("Clients with a service (not deleted) of one of these types."))
    blocks_product_types = _product_types(
        gettext_lazy("Block new tickets about these product types"),
        gettext_lazy("While it is shown, its clients cannot open a ticket about a service of "
                     "these types; the ticket form says why."))

    class Meta:
        model = Announcement
        fields = ["provider", "title", "body", "level", "starts_at", "ends_at",
                  "show_on_sign_in", "audience", "audience_product_types", "audience_services",
                  "audience_groups", "blocks_product_types", "blocks_services", "block_reason"]

    def clean_body(self):
        body = body_clean(self.cleaned_data["body"])
        if not body:
            raise ValidationError(_("Write the text clients will read."), code="empty")
        return body

    def clean(self):
        cleaned = super().clean()
        starts, ends = cleaned.get("starts_at"), cleaned.get("ends_at")
        if starts and ends and ends <= starts:
            self.add_error("ends_at", _("The end must come after the start."))
        targets = {AnnouncementAudience.PRODUCT_TYPES: "audience_product_types",
                   AnnouncementAudience.SERVICES: "audience_services",
                   AnnouncementAudience.GROUPS: "audience_groups"}
        field = targets.get(cleaned.get("audience"))
        if field and not cleaned.get(field):
            self.add_error(field, _("Choose whom it is shown to, or show it to all clients."))
        provider = cleaned.get("provider")
        for name in ("audience_services", "blocks_services"):
            foreign = [service for service in cleaned.get(name) or []
                       if provider is not None and service.client.provider_id != provider.pk]
            if foreign:
                self.add_error(name, _("These services belong to another provider's clients: "
                                       "%(services)s.")
                               % {"services": ", ".join(str(s) for s in foreign)})
        blocks = cleaned.get("blocks_product_types") or cleaned.get("blocks_services")
        if blocks and not (cleaned.get("block_reason") or "").strip():
            self.add_error("block_reason", _("Say why new tickets are blocked: clients read "
                                             "it instead of the form."))
        return cleaned


class StateFilter(admin.SimpleListFilter):
    title = gettext_lazy("state")
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("shown", _("Shown now")), ("scheduled", _("Scheduled")),
                ("ended", _("Ended"))]

    def queryset(self, request, queryset):
        now = timezone.now()
        if self.value() == "shown":
            return queryset.filter(starts_at__lte=now).exclude(ends_at__lte=now)
        if self.value() == "scheduled":
            return queryset.filter(starts_at__gt=now)
        if self.value() == "ended":
            return queryset.filter(ends_at__lte=now)
        return queryset


@admin.register(Announcement)
class AnnouncementAdmin(StaffModelAdmin):
    form = AnnouncementForm
    list_display = ["title", "level", "state", "starts_at", "ends_at", "show_on_sign_in",
                    "blocks", "provider"]
    list_filter = [StateFilter, "level", "provider", "show_on_sign_in"]
    search_fields = ["title", "body"]
    autocomplete_fields = ["audience_services", "blocks_services"]
    filter_horizontal = ["audience_groups"]
    fieldsets = [
        (None, {"fields": ["provider", "title", "body", "level"]}),
        (gettext_lazy("When"), {"fields": ["starts_at", "ends_at", "show_on_sign_in"]}),
        (gettext_lazy("Shown to"), {"fields": ["audience", "audience_product_types",
                                               "audience_services", "audience_groups"]}),
        (gettext_lazy("Blocking new tickets"), {
            "fields": ["blocks_product_types", "blocks_services", "block_reason"],
            "description": gettext_lazy(
                "While the announcement is shown, the clients who see it cannot open a new "
                "ticket about these services; the form shows the reason. Tickets that "
                "arrive by e-mail are opened with an internal note instead.")}),
    ]
    change_form_template = "admin/support/announcement/change_form.html"

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name in self.autocomplete_fields:
            kwargs["widget"] = ServicesWidget(db_field, self.admin_site)
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("provider").prefetch_related(
            "blocks_services")

    @admin.display(description=gettext_lazy("state"))
    def state(self, obj: Announcement) -> str:
        now = timezone.now()
        if is_shown(obj, now=now):
            return _("Shown now")
        return _("Scheduled") if obj.starts_at > now else _("Ended")

    @admin.display(description=gettext_lazy("blocks tickets"), boolean=True)
    def blocks(self, obj: Announcement) -> bool:
        return bool(obj.blocks_product_types) or bool(obj.blocks_services.all())

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        initial.setdefault("starts_at", timezone.now())
        return initial

    def get_urls(self):
        return [
            path("<int:pk>/preview/", self.admin_site.admin_view(self.preview_view),
                 name="support_announcement_preview"),
            *super().get_urls(),
        ]

    def preview_view(self, request, pk: int):
        """The announcement as a client sees it (banner, home page card, the ticket form's
        notice) and whom it reaches."""
        if not request.user.has_perm(VIEW_PERMISSION):
            raise PermissionDenied
        announcement = get_object_or_404(Announcement.objects.select_related("provider"),
                                         pk=pk)
        now = timezone.now()
        labels = dict(ProductType.choices)
        return render(request, "admin/support/announcement/preview.html", {
            "announcement": announcement, "as_list": [announcement],
            "body": body_html(announcement.body),
            "shown_now": is_shown(announcement, now=now), "now": now,
            "reach": audience_clients(announcement).count(),
            "audience_types": [labels.get(t, t) for t in announcement.audience_product_types],
            "blocked_types": [labels.get(t, t) for t in announcement.blocks_product_types],
            "blocked_services": announcement.blocks_services.select_related("client")[:50],
            "opts": self.model._meta,
        })
