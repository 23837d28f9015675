from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import transaction

from core.encryption import Decrypted, EncryptedTextField, reencrypt


def encrypted_fields() -> list[tuple[type, list[str]]]:
    """Every model with encrypted fields, found in the app registry: payment methods'
    gateway keys, support mailboxes' passwords, whatever a later app adds (a lower app
    never imports a higher one to learn of them)."""
    found = []
    for model in apps.get_models():
        names = [field.name for field in model._meta.get_fields()
                 if isinstance(field, EncryptedTextField)]
        if names:
            found.append((model, names))
    return found


class Command(BaseCommand):
    help = ("Encrypt every stored secret (payment methods, support mailboxes, ...) again "
            "under the first key of FIELD_ENCRYPTION_KEY. Rotate a key by putting the new "
            "one first (keeping the old one after it), running this, then removing the old "
            "one.")

    @transaction.atomic
    def handle(self, *args, **options):
        rotated = 0
        for model, names in encrypted_fields():
            for row in model._default_manager.select_for_update().order_by("pk"):
                for name in names:
                    value = getattr(row, name)
                    if isinstance(value, Decrypted) and value.token:
                        fresh = Decrypted(value)
                        fresh.token = reencrypt(value.token)
                        setattr(row, name, fresh)
                        rotated += 1
                row.save(update_fields=names)
        self.stdout.write(self.style.SUCCESS(f"{rotated} secret(s) encrypted under the "
                                             "first key."))
