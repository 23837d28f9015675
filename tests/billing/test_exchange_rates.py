"""Directory -> Currencies: dated exchange rates, conversion for reports, the CSV import
and who may touch them."""

from __future__ import annotations

import datetime
from decimal import ROUND_HALF_UP, Decimal, localcontext

import pytest
from django.core.management import CommandError, call_command
from djmoney.money import Money
from hypothesis import given, settings
from hypothesis import strategies as st

from accounts.models import ActionLog
from accounts.staff_roles import DEFAULT_DEPARTMENTS, department_sync
from billing.currencies import currencies_ensure
from billing.models import Currency, ExchangeRate, RateSource
from billing.rates import RateNotFound, convert, rate_on
from billing.rates_import import rates_import
from tests.factories.accounts import StaffFactory

pytestmark = pytest.mark.django_db
D = datetime.date


@pytest.fixture(autouse=True)
def _directory():
    # The migration seeds these; a transactional test elsewhere may have flushed them.
    currencies_ensure()


def _rate(base, quote, day, rate):
    return ExchangeRate.objects.create(base_id=base, quote_id=quote, valid_on=day,
                                       rate=Decimal(rate))


@pytest.fixture
def rates():
    _rate("EUR", "USD", D(2026, 1, 1), "1.1000")
    _rate("EUR", "USD", D(2026, 2, 1), "1.2000")
    _rate("USD", "JPY", D(2026, 1, 15), "150")


RATE_ON = [
    # base, quote, day: expected (rate, date) — from the fixture's three rows
    ("EUR", "USD", D(2026, 1, 1), (Decimal("1.1"), D(2026, 1, 1))),      # on the day
    ("EUR", "USD", D(2026, 1, 31), (Decimal("1.1"), D(2026, 1, 1))),     # latest before
    ("EUR", "USD", D(2026, 2, 1), (Decimal("1.2"), D(2026, 2, 1))),
    ("EUR", "USD", D(2030, 1, 1), (Decimal("1.2"), D(2026, 2, 1))),
    ("USD", "EUR", D(2026, 2, 5), (1 / Decimal("1.2"), D(2026, 2, 1))),  # inverse
    ("JPY", "USD", D(2026, 1, 15), (1 / Decimal(150), D(2026, 1, 15))),
    ("GBP", "GBP", D(2026, 3, 3), (Decimal(1), D(2026, 3, 3))),          # identity
]


@pytest.mark.parametrize(("base", "quote", "day", "expected"), RATE_ON)
def test_rate_on(rates, base, quote, day, expected):
    found = rate_on(base, quote, day)

    assert (Decimal(found.factor().numerator) / found.factor().denominator, found.on) == \
        expected


@pytest.mark.parametrize(("base", "quote", "day"), [
    ("EUR", "USD", D(2025, 12, 31)),   # before the first rate
    ("JPY", "USD", D(2026, 1, 14)),    # inverse exists only later
    ("EUR", "JPY", D(2026, 6, 1)),     # no cross rates are made up
])
def test_rate_on_none_is_a_clear_error(rates, base, quote, day):
    with pytest.raises(RateNotFound, match=f"{base}/{quote}.*{day.isoformat()}"):
        rate_on(base, quote, day)


def test_the_pair_as_entered_wins_over_a_later_inverse():
    _rate("EUR", "USD", D(2026, 1, 1), "1.1")
    _rate("USD", "EUR", D(2026, 1, 10), "0.5")

    assert rate_on("EUR", "USD", D(2026, 1, 20)).on == D(2026, 1, 1)


amounts = st.decimals(min_value=Decimal("-1000000000"), max_value=Decimal("1000000000"),
                      places=4, allow_nan=False, allow_infinity=False)
stored_rates = st.decimals(min_value=Decimal("0.0000000001"), max_value=Decimal("99999999"),
                           places=10, allow_nan=False, allow_infinity=False)


def _half_up(value: Decimal, places: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


@settings(max_examples=60, deadline=None)
@given(amount=amounts, rate=stored_rates)
def test_convert_multiplies_exactly_and_rounds_once(amount, rate):
    ExchangeRate.objects.all().delete()
    _rate("EUR", "JPY", D(2026, 1, 1), rate)
    _rate("USD", "BHD", D(2026, 1, 1), rate)

    to_yen = convert(Money(amount, "EUR"), "JPY", D(2026, 5, 1))
    to_dinar = convert(Money(amount, "USD"), "BHD", D(2026, 5, 1))
    # the inverse divides: stated with 60 significant digits, far beyond the 3 kept

    with localcontext() as context:
        context.prec = 60
        expected_back = _half_up(amount / rate, 2)

    assert to_yen.amount == Money(_half_up(amount * rate, 0), "JPY")  # exact product
    assert to_yen.rate_on == D(2026, 1, 1)
    assert to_dinar.amount == Money(_half_up(amount * rate, 3), "BHD")
    assert convert(Money(amount, "BHD"), "USD", D(2026, 1, 1)).amount == \
        Money(expected_back, "USD")


def test_convert_same_currency_is_the_amount_rounded():
    assert convert(Money("10.005", "USD"), "USD", D(2026, 1, 1)).amount == Money("10.01", "USD")


CSV = b"date,base,quote,rate\n2026-01-01,EUR,USD,1.1\n2026-01-02,eur,usd,1.15\n"


def test_import_is_idempotent():
    first = rates_import(CSV, dry_run=False)
    second = rates_import(CSV, dry_run=False)

    assert (first.written, second.written, second.count("unchanged")) == (2, 0, 2)
    assert ExchangeRate.objects.filter(source=RateSource.FILE).count() == 2
    assert rate_on("USD", "EUR", D(2026, 1, 5)).on == D(2026, 1, 2)


def test_dry_run_writes_nothing():
    report = rates_import(CSV, dry_run=True)

    assert report.count("new") == 2
    assert report.written == 0
    assert not ExchangeRate.objects.exists()


def test_bad_rows_are_reported_each_and_nothing_is_written():
    _rate("EUR", "USD", D(2026, 1, 1), "1.1")
    data = (b"date,base,quote,rate\n"
            b"2026-01-03,EUR,GBP,0.85\n"        # fine, but not written: the file has errors
            b"2026-02-30,EUR,USD,1.1\n"         # no such day
            b"2026-01-04,XYZ,USD,1\n"           # not in the directory
            b"2026-01-04,USD,USD,1\n"           # one currency
            b"2026-01-04,EUR,USD,-1\n"          # not positive
            b"2026-01-04,EUR,USD,1e3\n"         # not plain digits
            b"2026-01-01,EUR,USD,1.3\n"         # changes a stored rate
            b"2026-01-05,EUR,USD\n"             # too short
            b"2026-01-03,EUR,GBP,0.86\n"        # contradicts line 2
            )

    report = rates_import(data, dry_run=False)

    assert [row.line for row in report.errors] == [3, 4, 5, 6, 7, 8, 9, 10]
    assert report.written == 0
    assert ExchangeRate.objects.count() == 1


@pytest.mark.parametrize("data", [
    b"", b"\xff\xfe\x00", b"day,from,to,rate\n", b"\x00" * 10,
    b'date,base,quote,rate\n"' + b"x" * 200_000 + b'",EUR,USD,1\n',  # beyond csv's limit
])
def test_an_unreadable_file_is_refused_by_the_command(tmp_path, data):
    path = tmp_path / "rates.csv"
    path.write_bytes(data)

    with pytest.raises(CommandError):
        call_command("rates_import", str(path))
    assert not ExchangeRate.objects.exists()


def test_command_dry_run_then_import(tmp_path, capsys):
    path = tmp_path / "rates.csv"
    path.write_bytes(CSV)

    call_command("rates_import", str(path), "--dry-run")
    assert not ExchangeRate.objects.exists()
    call_command("rates_import", str(path))
    call_command("rates_import", str(path))

    assert ExchangeRate.objects.count() == 2


def test_currencies_come_with_iso_minor_units():
    assert {c.code: c.minor_unit for c in Currency.objects.filter(code__in=["USD", "JPY",
                                                                          "BHD"])} == \
        {"USD": 2, "JPY": 0, "BHD": 3}


def _accountant():
    employee = StaffFactory()
    employee.groups.add(department_sync(name="Accounting",
                                        codenames=DEFAULT_DEPARTMENTS["Accounting"]))
    return employee


def _support():
    employee = StaffFactory()
    employee.groups.add(department_sync(name="Technical support",
                                        codenames=DEFAULT_DEPARTMENTS["Technical support"]))
    return employee


def test_accounting_enters_and_corrects_a_rate_and_the_correction_is_logged(client):
    accountant = _accountant()
    client.force_login(accountant)

    added = client.post("/staff/billing/exchangerate/add/", {
        "valid_on": "2026-01-01", "base": "EUR", "quote": "USD", "rate": "1.1"})
    rate = ExchangeRate.objects.get()
    changed = client.post(f"/staff/billing/exchangerate/{rate.pk}/change/", {"rate": "1.12"})
    rate.refresh_from_db()

    assert (added.status_code, changed.status_code) == (302, 302)
    assert (rate.rate, rate.entered_by, rate.source) == (Decimal("1.12"), accountant, "staff")
    log = ActionLog.objects.filter(action="exchangerate.changed_by_staff").get()
    assert log.details["changes"]["rate"] == ["1.1000000000", "1.12"]
    assert client.post(f"/staff/billing/exchangerate/{rate.pk}/delete/").status_code == 403
    assert client.get("/staff/billing/currency/").status_code == 200
    assert client.post("/staff/billing/currency/add/", {"code": "SEK", "name": "Krona",
                                                        "active": "on"}).status_code == 403


def test_support_sees_no_rates(client):
    client.force_login(_support())

    assert client.get("/staff/billing/exchangerate/").status_code == 403
    assert client.get("/staff/billing/exchangerate/import/").status_code == 403


def test_import_from_the_staff_panel_previews_then_writes(client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(_accountant())

    preview = client.post("/staff/billing/exchangerate/import/", {
        "file": SimpleUploadedFile("r.csv", CSV), "dry_run": "on"})
    assert preview.status_code == 200
    assert not ExchangeRate.objects.exists()
    assert "1 EUR = 1.15 USD" in preview.content.decode()
    done = client.post("/staff/billing/exchangerate/import/", {
        "file": SimpleUploadedFile("r.csv", CSV)})

    assert done.status_code == 302
    assert ExchangeRate.objects.count() == 2
    assert ActionLog.objects.get(action="exchangerate.imported").details == {
        "file": "r.csv", "added": 2, "unchanged": 0}
