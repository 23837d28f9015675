"""E-mails the accounts layer sends."""

from __future__ import annotations

from allauth.account.forms import default_token_generator
from allauth.account.utils import user_pk_to_url_str
from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse

from accounts.models import User


def send_invitation(*, user_id: int, request=None) -> None:
    """Invite a new client user: a link to set the password (allauth's reset-from-key)."""
    user = User.objects.select_related("client_membership__client").get(pk=user_id)
    key = default_token_generator.make_token(user)
    path = reverse(
        "account_reset_password_from_key",
        kwargs={"uidb36": user_pk_to_url_str(user), "key": key},
    )
    link = request.build_absolute_uri(path) if request is not None else path
    context = {"user": user, "client": user.client_membership.client, "link": link,
               "site_name": settings.SITE_NAME}
    send_mail(
        subject=f"You are invited to {context['client'].name} at {settings.SITE_NAME}",
        message=render_to_string("accounts/email/invitation.txt", context),
        from_email=None,
        recipient_list=[user.email],
    )


def send_security_notice(*, template: str, user: User, context: dict) -> None:
    """A notice about the user's own account security (a new device, a reset second
    factor): ``<template>_subject.txt`` and ``<template>_message.txt``."""
    context = {"user": user, "site_name": settings.SITE_NAME, **context}
    subject = " ".join(render_to_string(f"{template}_subject.txt", context).split())
    send_mail(subject=subject, message=render_to_string(f"{template}_message.txt", context),
              from_email=None, recipient_list=[user.email])
