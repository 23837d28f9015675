# See history/functions.py: the trigger libraries' helper functions without an exception
# block, so that a statement changing many rows opens no subtransaction per row.

from django.db import migrations

from history.functions import SQL


class Migration(migrations.Migration):

    dependencies = [
        ("history", "0002_events_append_only"),
        ("pghistory", "0007_auto_20250421_0444"),
    ]

    # Going back leaves these in place: they behave as the libraries' own do.
    operations = [migrations.RunSQL(SQL, migrations.RunSQL.noop)]
