"""The second factors' secrets (a TOTP key, the recovery codes' seed) stored before they
were encrypted are encrypted now, as the MFA adapter writes them from here on."""

from django.db import migrations

from core.encryption import decrypt, encrypt

SECRET_FIELDS = {"totp": "secret", "recovery_codes": "seed"}


def _encrypted(value: str) -> bool:
    try:
        decrypt(value)
    except Exception:  # noqa: BLE001 - not a token of ours: plain text
        return False
    return True


def forwards(apps, schema_editor):
    Authenticator = apps.get_model("mfa", "Authenticator")
    for authenticator in Authenticator.objects.filter(type__in=SECRET_FIELDS):
        field = SECRET_FIELDS[authenticator.type]
        value = authenticator.data.get(field)
        if value and not _encrypted(value):
            authenticator.data[field] = encrypt(value)
            authenticator.save(update_fields=["data"])


def backwards(apps, schema_editor):
    Authenticator = apps.get_model("mfa", "Authenticator")
    for authenticator in Authenticator.objects.filter(type__in=SECRET_FIELDS):
        field = SECRET_FIELDS[authenticator.type]
        value = authenticator.data.get(field)
        if value and _encrypted(value):
            authenticator.data[field] = decrypt(value)
            authenticator.save(update_fields=["data"])


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0005_second_factor"),
        ("mfa", "0003_authenticator_type_uniq"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
