"""`make manage ARGS="demo_totp admin@example.com"`: the current sign-in code of a demo
staff member, whose TOTP authenticator `seed_demo` created (no phone needed)."""

from allauth.mfa import app_settings as mfa_settings
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from allauth.mfa.utils import decrypt
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone


class Command(BaseCommand):
    help = "Print the current 6-digit two-factor code of a demo staff member."

    def add_arguments(self, parser):
        parser.add_argument("email")

    def handle(self, *args, email, **options):
        authenticator = Authenticator.objects.filter(
            user__email__iexact=email, type=Authenticator.Type.TOTP).first()
        # Only the authenticators the demo seeded: a real user's secret stays theirs.
        if authenticator is None or not authenticator.data.get("demo"):
            raise CommandError(f"{email} has no demo authenticator (seeded by seed_demo "
                               "for the demo staff only).")
        now = timezone.now().timestamp()
        counter = int(now) // mfa_settings.TOTP_PERIOD
        code = format_hotp_value(hotp_value(decrypt(authenticator.data["secret"]), counter))
        left = mfa_settings.TOTP_PERIOD - int(now) % mfa_settings.TOTP_PERIOD
        self.stdout.write(code)
        self.stderr.write(f"valid for {left} more seconds")
