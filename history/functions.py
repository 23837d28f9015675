"""Two helper functions of the trigger libraries, rewritten without subtransactions.

pgtrigger's ``_pgtrigger_should_ignore`` and pghistory's ``_pgh_attach_context`` read a
setting inside ``BEGIN ... EXCEPTION WHEN OTHERS``: every call opens a subtransaction, so
a statement that changes 10,000 rows opens 20,000 of them. Past 64 in one transaction
PostgreSQL's subtransaction cache overflows and every snapshot of every session slows
down; the benchmark's fill took 250 s instead of 3 and the clock's renewals twice as long.
``current_setting(name, true)`` answers NULL for a setting never set (and '' for one set
and reset), which is what the exception handler was for.

pgtrigger writes its function again with each trigger it installs, so the versions here
are installed after every ``migrate`` (HistoryConfig) as well as by migration 0003; a
test checks that neither function has an exception block.
"""

from __future__ import annotations

from django.db import connections

SHOULD_IGNORE = """
CREATE OR REPLACE FUNCTION "public"._pgtrigger_should_ignore(trigger_name NAME)
RETURNS BOOLEAN AS $$
    DECLARE
        _pgtrigger_ignore TEXT[];
    BEGIN
        _pgtrigger_ignore := NULLIF(current_setting('pgtrigger.ignore', true), '')::TEXT[];
        IF _pgtrigger_ignore IS NOT NULL THEN
            RETURN trigger_name = ANY(_pgtrigger_ignore);
        END IF;
        RETURN FALSE;
    END;
$$ LANGUAGE plpgsql;
"""

ATTACH_CONTEXT = """
CREATE OR REPLACE FUNCTION _pgh_attach_context()
RETURNS pghistory_context.id%TYPE AS $$
    DECLARE
        _pgh_context_id UUID;
        _pgh_context_metadata JSONB;
    BEGIN
        _pgh_context_id := NULLIF(current_setting('pghistory.context_id', true), '')::UUID;
        IF _pgh_context_id IS NULL THEN
            RETURN NULL;
        END IF;
        _pgh_context_metadata :=
            NULLIF(current_setting('pghistory.context_metadata', true), '')::JSONB;
        IF _pgh_context_metadata IS NULL THEN
            RETURN NULL;
        END IF;
        INSERT INTO pghistory_context (id, metadata, created_at, updated_at)
            VALUES (_pgh_context_id, _pgh_context_metadata, NOW(), NOW())
            ON CONFLICT (id) DO UPDATE
                SET metadata = EXCLUDED.metadata, updated_at = EXCLUDED.updated_at
                WHERE pghistory_context.metadata != EXCLUDED.metadata;
        RETURN _pgh_context_id;
    END;
$$ LANGUAGE plpgsql;
"""

SQL = SHOULD_IGNORE + ATTACH_CONTEXT


def install(*, using: str = "default") -> None:
    with connections[using].cursor() as cursor:
        cursor.execute(SQL)


def install_after_migrate(sender, using="default", **kwargs) -> None:
    install(using=using)
