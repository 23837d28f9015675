"""The billing clock's days, until now in the billing app: the same table, renamed, and
its content type (so staff keep their right to see it)."""

import django.utils.timezone
from django.db import migrations, models


def move_content_type(apps, schema_editor):
    content_type = apps.get_model("contenttypes", "ContentType")
    content_type.objects.filter(app_label="billing", model="billingday").update(
        app_label="engine")


def move_content_type_back(apps, schema_editor):
    content_type = apps.get_model("contenttypes", "ContentType")
    content_type.objects.filter(app_label="engine", model="billingday").update(
        app_label="billing")


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ("billing", "0009_billingday_moves_to_engine"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="BillingDay",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True,
                                                   serialize=False, verbose_name="ID")),
                        ("day", models.DateField(unique=True)),
                        ("started_at", models.DateTimeField(
                            default=django.utils.timezone.now)),
                        ("finished_at", models.DateTimeField(blank=True, null=True)),
                        ("stats", models.JSONField(blank=True, default=dict)),
                    ],
                    options={"ordering": ["-day"], "db_table": "billing_billingday"},
                ),
            ],
            database_operations=[],
        ),
        migrations.AlterModelTable(name="billingday", table=None),
        migrations.RunPython(move_content_type, move_content_type_back),
    ]
