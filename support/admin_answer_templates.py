"""Staff panel: Answer templates. Support staff write their own; templates shared with a
department or everyone need support.manage_shared_templates (support.answer_templates)."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.utils.translation import gettext as _

from accounts.admin_base import StaffModelAdmin
from support.answer_templates import answer_templates_for, scopes_for, template_editable_by
from support.models import AnswerTemplate, TemplateScope
from support.selectors import staff_support_departments


class AnswerTemplateForm(forms.ModelForm):
    """The scope a writer may choose, and a department only for a department's template."""

    class Meta:
        model = AnswerTemplate
        fields = ["name", "scope", "department", "body"]
        widgets = {"body": forms.Textarea(attrs={"rows": 12})}

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        if "scope" in self.fields:  # a template the user may only look at has no form fields
            allowed = scopes_for(user)
            self.fields["scope"].choices = [(value, label) for value, label
                                            in TemplateScope.choices if value in allowed]
        if "department" in self.fields:  # left out of the form for who may not share
            self.fields["department"].queryset = staff_support_departments(user)

    def clean(self):
        cleaned = super().clean()
        scope, department = cleaned.get("scope"), cleaned.get("department")
        if scope == TemplateScope.DEPARTMENT and department is None:
            self.add_error("department", _("Choose the department that shares it."))
        if scope != TemplateScope.DEPARTMENT and department is not None:
            self.add_error("department", _("Only a department's template names a department."))
        return cleaned


@admin.register(AnswerTemplate)
class AnswerTemplateAdmin(StaffModelAdmin):
    form = AnswerTemplateForm
    list_display = ["name", "scope", "department", "owner", "updated_at"]
    list_filter = ["scope", "department"]
    list_select_related = ["department", "owner"]
    search_fields = ["name", "body"]

    def get_queryset(self, request):
        # Administrators look after everyone's; staff see what they may use.
        if request.user.is_superuser:
            return super().get_queryset(request)
        return answer_templates_for(request.user).select_related("owner")

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        editing = obj is None or self.has_change_permission(request, obj)
        if editing and TemplateScope.DEPARTMENT not in scopes_for(request.user):
            return [name for name in fields if name != "department"]
        return fields

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)

        class WithUser(form):
            def __init__(self, *args, **inner):
                super().__init__(*args, user=request.user, **inner)

        return WithUser

    def has_change_permission(self, request, obj=None):
        allowed = super().has_change_permission(request, obj)
        return allowed and (obj is None or template_editable_by(obj, request.user))

    def has_delete_permission(self, request, obj=None):
        allowed = super().has_delete_permission(request, obj)
        return allowed and (obj is None or template_editable_by(obj, request.user))

    def save_model(self, request, obj, form, change):
        if obj.scope == TemplateScope.PERSONAL:
            obj.owner = obj.owner or request.user  # an edited one stays its owner's
        else:
            obj.owner = None
        if obj.scope != TemplateScope.DEPARTMENT:
            obj.department = None
        super().save_model(request, obj, form, change)
