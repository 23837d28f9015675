from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("backoffice", "0001_client_notes"),
    ]

    operations = [
        migrations.CreateModel(
            name="ActivityAccess",
            fields=[],
            options={
                "managed": False,
                "default_permissions": (),
                "permissions": [("view_current_activity", "Can see the current activity")],
            },
        ),
    ]
