# The history is append-only inside PostgreSQL, as the ledger is (billing/0002): plain SQL
# triggers, which no session setting switches off (pgtrigger's can be, with
# pgtrigger.ignore). A new event table gets its trigger in the migration that adds it.

from django.db import migrations

EVENT_TABLES = [
    "history_addonpriceevent", "history_clientevent", "history_clientuserevent",
    "history_departmentevent", "history_departmentmemberevent",
    "history_departmentrightevent", "history_payerevent", "history_paymentmethodevent",
    "history_planevent", "history_planpriceevent", "history_promocodeevent",
    "history_serviceevent", "history_userevent", "history_userrightevent",
]

FUNCTION = """
CREATE FUNCTION history_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the history of changes is append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END $$;
"""

TRIGGERS = "\n".join(
    f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
    f"FOR EACH ROW EXECUTE FUNCTION history_append_only();" for table in EVENT_TABLES)

DROP = "\n".join(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table};"
                 for table in EVENT_TABLES) + "\nDROP FUNCTION IF EXISTS history_append_only();"


class Migration(migrations.Migration):

    dependencies = [
        ("history", "0001_history_of_changes"),
    ]

    operations = [
        migrations.RunSQL(FUNCTION + TRIGGERS, DROP),
    ]
