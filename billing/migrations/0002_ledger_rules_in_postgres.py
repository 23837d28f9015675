"""The ledger's and the invoices' rules, enforced by PostgreSQL itself.

No switch turns these off: raw SQL is held to them as much as the ORM is.
"""

from django.db import migrations

FORWARD = r"""
-- Entries are posted against an account in that account's currency.
ALTER TABLE billing_ledgeraccount ADD CONSTRAINT billing_account_id_currency UNIQUE (id, currency);
ALTER TABLE billing_entry ADD CONSTRAINT billing_entry_in_account_currency
    FOREIGN KEY (account_id, currency) REFERENCES billing_ledgeraccount (id, currency);

CREATE FUNCTION billing_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger: % of % is not allowed: the ledger is append-only; post a reversing transaction instead',
        TG_OP, TG_TABLE_NAME USING ERRCODE = 'restrict_violation';
END $$;

CREATE TRIGGER billing_entry_append_only BEFORE UPDATE OR DELETE ON billing_entry
    FOR EACH ROW EXECUTE FUNCTION billing_append_only();
CREATE TRIGGER billing_transaction_append_only BEFORE UPDATE OR DELETE ON billing_transaction
    FOR EACH ROW EXECUTE FUNCTION billing_append_only();

-- Every statement that inserts entries leaves each transaction it touches balanced per
-- currency, and moves the stored balance of every personal account it touches by
-- exactly the sum of its new entries. Set-based: one check and one update a statement.
CREATE FUNCTION billing_entries_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    unbalanced record;
BEGIN
    SELECT e.transaction_id, e.currency, sum(e.amount) AS total INTO unbalanced
      FROM billing_entry e
     WHERE e.transaction_id IN (SELECT DISTINCT transaction_id FROM new_entries)
  GROUP BY e.transaction_id, e.currency
    HAVING sum(e.amount) <> 0
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'ledger: transaction % does not balance: its % entries sum to %',
            unbalanced.transaction_id, unbalanced.currency, unbalanced.total
            USING ERRCODE = 'check_violation';
    END IF;
    UPDATE billing_ledgeraccount a
       SET balance = a.balance + s.total
      FROM (SELECT account_id, sum(amount) AS total FROM new_entries GROUP BY account_id) s
     WHERE a.id = s.account_id AND a.kind = 'client';
    RETURN NULL;
END $$;

CREATE TRIGGER billing_entries_inserted AFTER INSERT ON billing_entry
    REFERENCING NEW TABLE AS new_entries
    FOR EACH STATEMENT EXECUTE FUNCTION billing_entries_inserted();

-- A transaction without entries is refused when its database transaction commits.
CREATE FUNCTION billing_transaction_has_entries() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM billing_entry WHERE transaction_id = NEW.id) THEN
        RAISE EXCEPTION 'ledger: transaction % has no entries', NEW.id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER billing_transaction_has_entries AFTER INSERT ON billing_transaction
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION billing_transaction_has_entries();

-- A stored balance starts at zero and changes only through entries (the trigger above).
CREATE FUNCTION billing_balance_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' AND NEW.balance <> 0 THEN
        RAISE EXCEPTION 'ledger: account % must start with a zero balance', NEW.code
            USING ERRCODE = 'check_violation';
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.balance IS DISTINCT FROM OLD.balance AND pg_trigger_depth() < 2 THEN
        RAISE EXCEPTION 'ledger: the balance of % changes only by posting entries', OLD.code
            USING ERRCODE = 'restrict_violation';
    END IF;
    IF TG_OP = 'UPDATE' AND (NEW.currency IS DISTINCT FROM OLD.currency
                             OR NEW.kind IS DISTINCT FROM OLD.kind) THEN
        RAISE EXCEPTION 'ledger: the kind and currency of account % are fixed', OLD.code
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER billing_balance_guard BEFORE INSERT OR UPDATE ON billing_ledgeraccount
    FOR EACH ROW EXECUTE FUNCTION billing_balance_guard();

-- An issued invoice is immutable but for its status going New -> Paid or Cancelled; its
-- lines and credit notes never change.
CREATE FUNCTION billing_invoice_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.status = 'draft' THEN
        IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
        RETURN NEW;
    END IF;
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'invoice %: an issued invoice cannot be deleted', OLD.number
            USING ERRCODE = 'restrict_violation';
    END IF;
    IF (NEW.number, NEW.company_id, NEW.client_id, NEW.payer_id, NEW.kind, NEW.currency,
        NEW.subtotal, NEW.tax_total, NEW.total, NEW.tax_treatment, NEW.tax_rate, NEW.tax_name,
        NEW.tax_note, NEW.company_snapshot, NEW.payer_snapshot, NEW.issued_at, NEW.due_on,
        NEW.created_at)
       IS DISTINCT FROM
       (OLD.number, OLD.company_id, OLD.client_id, OLD.payer_id, OLD.kind, OLD.currency,
        OLD.subtotal, OLD.tax_total, OLD.total, OLD.tax_treatment, OLD.tax_rate, OLD.tax_name,
        OLD.tax_note, OLD.company_snapshot, OLD.payer_snapshot, OLD.issued_at, OLD.due_on,
        OLD.created_at) THEN
        RAISE EXCEPTION 'invoice %: an issued invoice cannot change; issue a credit note',
            OLD.number USING ERRCODE = 'restrict_violation';
    END IF;
    IF NEW.status IS DISTINCT FROM OLD.status
       AND NOT (OLD.status = 'new' AND NEW.status IN ('paid', 'cancelled')) THEN
        RAISE EXCEPTION 'invoice %: status cannot go from % to %', OLD.number, OLD.status,
            NEW.status USING ERRCODE = 'restrict_violation';
    END IF;
    IF OLD.status <> 'new' AND (NEW.paid_at, NEW.cancelled_at, NEW.payment_transaction_id)
       IS DISTINCT FROM (OLD.paid_at, OLD.cancelled_at, OLD.payment_transaction_id) THEN
        RAISE EXCEPTION 'invoice %: a % invoice cannot change', OLD.number, OLD.status
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER billing_invoice_guard BEFORE UPDATE OR DELETE ON billing_invoice
    FOR EACH ROW EXECUTE FUNCTION billing_invoice_guard();

CREATE FUNCTION billing_invoice_line_guard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    invoice_status text;
BEGIN
    SELECT status INTO invoice_status FROM billing_invoice
     WHERE id = COALESCE(NEW.invoice_id, OLD.invoice_id);
    IF invoice_status IS DISTINCT FROM 'draft' THEN
        RAISE EXCEPTION 'invoice lines of an issued invoice cannot be added, changed or deleted'
            USING ERRCODE = 'restrict_violation';
    END IF;
    IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER billing_invoice_line_guard BEFORE INSERT OR UPDATE OR DELETE ON billing_invoiceline
    FOR EACH ROW EXECUTE FUNCTION billing_invoice_line_guard();

CREATE TRIGGER billing_credit_note_append_only BEFORE UPDATE OR DELETE ON billing_creditnote
    FOR EACH ROW EXECUTE FUNCTION billing_append_only();
CREATE TRIGGER billing_credit_note_line_append_only BEFORE UPDATE OR DELETE ON billing_creditnoteline
    FOR EACH ROW EXECUTE FUNCTION billing_append_only();
CREATE TRIGGER billing_charge_append_only BEFORE UPDATE OR DELETE ON billing_charge
    FOR EACH ROW EXECUTE FUNCTION billing_append_only();
"""

BACKWARD = r"""
DROP TRIGGER IF EXISTS billing_charge_append_only ON billing_charge;
DROP TRIGGER IF EXISTS billing_credit_note_line_append_only ON billing_creditnoteline;
DROP TRIGGER IF EXISTS billing_credit_note_append_only ON billing_creditnote;
DROP TRIGGER IF EXISTS billing_invoice_line_guard ON billing_invoiceline;
DROP FUNCTION IF EXISTS billing_invoice_line_guard();
DROP TRIGGER IF EXISTS billing_invoice_guard ON billing_invoice;
DROP FUNCTION IF EXISTS billing_invoice_guard();
DROP TRIGGER IF EXISTS billing_balance_guard ON billing_ledgeraccount;
DROP FUNCTION IF EXISTS billing_balance_guard();
DROP TRIGGER IF EXISTS billing_transaction_has_entries ON billing_transaction;
DROP FUNCTION IF EXISTS billing_transaction_has_entries();
DROP TRIGGER IF EXISTS billing_entries_inserted ON billing_entry;
DROP FUNCTION IF EXISTS billing_entries_inserted();
DROP TRIGGER IF EXISTS billing_transaction_append_only ON billing_transaction;
DROP TRIGGER IF EXISTS billing_entry_append_only ON billing_entry;
DROP FUNCTION IF EXISTS billing_append_only();
ALTER TABLE billing_entry DROP CONSTRAINT IF EXISTS billing_entry_in_account_currency;
ALTER TABLE billing_ledgeraccount DROP CONSTRAINT IF EXISTS billing_account_id_currency;
"""


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_initial")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
