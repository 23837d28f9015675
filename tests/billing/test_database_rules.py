"""The ledger's rules hold inside PostgreSQL: raw SQL cannot break them."""

import pytest
from django.db import DatabaseError, connection, transaction

from billing.audit import audit
from billing.ledger import personal_account
from billing.models import Entry, Invoice
from tests.factories.accounts import ClientFactory, CompanyFactory
from tests.factories.billing import top_up

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _sql(statement, params=()):
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement, params)


@pytest.fixture
def posted():
    client = ClientFactory()
    record = top_up(client, "50.00")
    return client, record


@pytest.mark.parametrize(
    ("statement", "message"),
    [
        ("UPDATE billing_entry SET amount = amount + 1 WHERE transaction_id = %s", "append-only"),
        ("DELETE FROM billing_entry WHERE transaction_id = %s", "append-only"),
        ("UPDATE billing_transaction SET description = 'x' WHERE id = %s", "append-only"),
        ("DELETE FROM billing_transaction WHERE id = %s", "append-only"),
    ],
)
def test_entries_and_transactions_cannot_be_changed_or_deleted(posted, statement, message):
    client, record = posted

    with pytest.raises(DatabaseError, match=message):
        _sql(statement, [record.pk])

    assert personal_account(client).balance == 50
    assert Entry.objects.filter(transaction=record).count() == 2


def test_an_unbalanced_transaction_cannot_be_inserted(posted):
    client, _ = posted
    account = personal_account(client)

    with pytest.raises(DatabaseError, match="does not balance"):
        _sql("""WITH t AS (INSERT INTO billing_transaction
                    (created_at, kind, description, idempotency_key, client_id, details,
                     actor_label)
                VALUES (now(), 'adjustment', 'raw', 'raw-1', %s, '{}', 'raw') RETURNING id)
                INSERT INTO billing_entry (transaction_id, account_id, amount, currency)
                SELECT t.id, %s, 1000, 'USD' FROM t""", [client.pk, account.pk])

    assert personal_account(client).balance == 50


def test_adding_one_sided_entries_to_an_old_transaction_fails(posted):
    client, record = posted

    with pytest.raises(DatabaseError, match="does not balance"):
        _sql("INSERT INTO billing_entry (transaction_id, account_id, amount, currency) "
             "VALUES (%s, %s, 5, 'USD')", [record.pk, personal_account(client).pk])


def test_a_transaction_without_entries_is_refused_at_commit():
    client = ClientFactory()

    with pytest.raises(DatabaseError, match="has no entries"):
        _sql("INSERT INTO billing_transaction (created_at, kind, description, idempotency_key, "
             "client_id, details, actor_label) VALUES (now(), 'adjustment', 'empty', 'e-1', "
             "%s, '{}', 'raw')", [client.pk])


def test_a_stored_balance_cannot_be_set_by_hand(posted):
    client, _ = posted

    with pytest.raises(DatabaseError, match="changes only by posting entries"):
        _sql("UPDATE billing_ledgeraccount SET balance = 1000000 WHERE client_id = %s",
             [client.pk])

    assert personal_account(client).balance == 50
    assert audit() == []


def test_an_issued_invoice_cannot_change_and_its_lines_are_fixed():
    from djmoney.money import Money

    from billing.invoicing import LineSpec, invoice_issue
    from billing.models import InvoiceKind

    client = ClientFactory()
    invoice = invoice_issue(company=CompanyFactory(), client=client, kind=InvoiceKind.SERVICES,
                            lines=[LineSpec("Hosting", Money("10.00", "USD"))])

    for statement in ("UPDATE billing_invoice SET total = 1 WHERE id = %s",
                      "UPDATE billing_invoice SET payer_snapshot = '{}' WHERE id = %s",
                      "DELETE FROM billing_invoice WHERE id = %s",
                      "UPDATE billing_invoiceline SET net = 0 WHERE invoice_id = %s",
                      "DELETE FROM billing_invoiceline WHERE invoice_id = %s"):
        with pytest.raises(DatabaseError, match="cannot"):
            _sql(statement, [invoice.pk])
    with pytest.raises(DatabaseError, match="cannot go from new to draft"):
        _sql("UPDATE billing_invoice SET status = 'draft' WHERE id = %s", [invoice.pk])

    assert Invoice.objects.get(pk=invoice.pk).total == 10
