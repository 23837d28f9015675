"""The billing clock's days move to the engine app (engine.0001 renames the table)."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("billing", "0008_closing_line_days"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="BillingDay")],
            database_operations=[],
        ),
    ]
