"""The base of every staff-panel model admin: its changes go to the action log too,
with each changed field's old and new value."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.db import models

from accounts.actionlog import log_action
from accounts.reauth import require_reauthentication

# Values of these fields may be secrets (gateway keys, module credentials): the log says
# that they changed, never what they were or became.
SECRET_FIELD_MARKERS = ("secret", "password", "token", "key", "settings", "credential")
HIDDEN = "(hidden)"
_CHANGES = "_staff_admin_changes"


def _is_secret(name: str) -> bool:
    return any(marker in name.lower() for marker in SECRET_FIELD_MARKERS)


def _shown(field: forms.Field, value) -> str:
    """A form value as a person reads it: a related object by its name, not its id."""
    if isinstance(field, forms.ModelMultipleChoiceField):
        if value is None:
            return "[]"
        items = [v if isinstance(v, models.Model) else field.queryset.filter(pk=v).first()
                 for v in value]
        return "[" + ", ".join(sorted(str(item) for item in items if item is not None)) + "]"
    if isinstance(field, forms.ModelChoiceField) and value not in (None, "") and not \
            isinstance(value, models.Model):
        value = field.queryset.filter(pk=value).first()
    return "" if value is None else str(value)


def form_changes(form: forms.BaseForm) -> dict[str, list[str]]:
    """Each changed field of a bound form: ``{name: [old, new]}`` (secrets hidden)."""
    changes = {}
    for name in form.changed_data:
        field = form.fields.get(name)
        if field is None or name not in getattr(form, "cleaned_data", {}):
            continue
        if _is_secret(name):
            changes[name] = [HIDDEN, HIDDEN]
            continue
        old = _shown(field, form.initial.get(name, field.initial))
        new = _shown(field, form.cleaned_data[name])
        if old != new:  # a form may call a value changed that reads the same (JSON)
            changes[name] = [old, new]
    return changes


class StaffModelAdmin(admin.ModelAdmin):
    list_per_page = 50
    show_full_result_count = False

    def construct_change_message(self, request, form, formsets, add=False):
        if not add:
            changes = form_changes(form)
            for formset in formsets or []:
                for inline_form in formset.forms:
                    if inline_form.instance.pk is None or not inline_form.has_changed():
                        continue
                    label = f"{inline_form.instance._meta.model_name} #{inline_form.instance.pk}"
                    for name, values in form_changes(inline_form).items():
                        changes[f"{label}.{name}"] = values
            setattr(request, _CHANGES, changes)
        return super().construct_change_message(request, form, formsets, add)

    def log_addition(self, request, obj, message):
        log_action(actor=request.user, action=f"{self._label()}.created_by_staff", obj=obj,
                   request=request, details={"message": str(message)})
        return super().log_addition(request, obj, message)

    def log_change(self, request, obj, message):
        details = {"message": str(message)}
        changes = getattr(request, _CHANGES, None)
        if changes:
            details["changes"] = changes
            setattr(request, _CHANGES, None)
        log_action(actor=request.user, action=f"{self._label()}.changed_by_staff", obj=obj,
                   request=request, details=details)
        return super().log_change(request, obj, message)

    def log_deletions(self, request, queryset):
        for obj in queryset:
            log_action(actor=request.user, action=f"{self._label()}.deleted_by_staff", obj=obj,
                       request=request)
        return super().log_deletions(request, queryset)

    def _label(self) -> str:
        return self.model._meta.model_name


class ReadOnlyStaffAdmin(StaffModelAdmin):
    """For records nobody edits by hand (logs, ledgers): staff may look, not touch."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReauthenticatedWritesAdmin(StaffModelAdmin):
    """A model whose every change is sensitive (payment methods, staff and their rights):
    adding, saving, deleting and bulk actions need a recent re-authentication; looking
    does not."""

    def _guard(self, request) -> None:
        if request.method == "POST":
            require_reauthentication(request)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        self._guard(request)
        return super().changeform_view(request, object_id, form_url, extra_context)

    def delete_view(self, request, object_id, extra_context=None):
        self._guard(request)
        return super().delete_view(request, object_id, extra_context)

    def changelist_view(self, request, extra_context=None):
        if request.method == "POST" and ("action" in request.POST or "_save" in request.POST):
            require_reauthentication(request)
        return super().changelist_view(request, extra_context)
