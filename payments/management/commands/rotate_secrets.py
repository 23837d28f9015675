from django.core.management.base import BaseCommand
from django.db import transaction

from core.encryption import Decrypted, reencrypt
from payments.models import PaymentMethod

SECRET_FIELDS = ("secret_key", "webhook_secret")


class Command(BaseCommand):
    help = ("Encrypt every stored payment-method secret again under the first key of "
            "FIELD_ENCRYPTION_KEY. Rotate a key by putting the new one first (keeping the "
            "old one after it), running this, then removing the old one.")

    @transaction.atomic
    def handle(self, *args, **options):
        rotated = 0
        for method in PaymentMethod.objects.select_for_update().order_by("pk"):
            for name in SECRET_FIELDS:
                value = getattr(method, name)
                if isinstance(value, Decrypted) and value.token:
                    fresh = Decrypted(value)
                    fresh.token = reencrypt(value.token)
                    setattr(method, name, fresh)
                    rotated += 1
            method.save(update_fields=list(SECRET_FIELDS))
        self.stdout.write(self.style.SUCCESS(f"{rotated} secret(s) encrypted under the "
                                             "first key."))
