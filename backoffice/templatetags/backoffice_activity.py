from django import template
from django.utils.translation import gettext as _

from backoffice.activity import short_user_agent as _short

register = template.Library()


@register.filter
def short_user_agent(value) -> str:
    return _short(value) if isinstance(value, str) else ""


@register.filter
def sign_in_what(action: str) -> str:
    return {"auth.signed_in": _("Signed in"),
            "auth.sign_in_failed": _("Wrong login or password"),
            "mfa.failed": _("Wrong second factor")}.get(action, action)
