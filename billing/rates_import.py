"""Import of exchange rates from a CSV file: ``date,base,quote,rate`` per line.

All or nothing: a file with any bad row writes nothing, and the report says what is
wrong with each row. Idempotent: a row equal to a stored rate is left as it is, so the same
file twice adds nothing. An import never changes a stored rate (a different rate for a
stored pair and day is an error): a past rate is corrected by hand in the staff panel,
where the change is logged.
"""

from __future__ import annotations

import contextlib
import csv
import datetime
import io
import re
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext as _

from billing.models import RATE_DECIMAL_PLACES, RATE_MAX_DIGITS, Currency, ExchangeRate, RateSource

MAX_BYTES = 2_000_000
MAX_ROWS = 20_000
HEADER = ["date", "base", "quote", "rate"]
_WHOLE = RATE_MAX_DIGITS - RATE_DECIMAL_PLACES
_RATE = re.compile(rf"[0-9]{{1,{_WHOLE}}}(?:\.[0-9]{{1,{RATE_DECIMAL_PLACES}}})?", re.ASCII)
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)


class RatesFileError(ValueError):
    """The file as a whole cannot be read (not a CSV of rates); nothing is written."""


@dataclass
class RowResult:
    line: int
    key: tuple[str, str, str] | None = None
    rate: Decimal | None = None
    status: str = "new"  # new | unchanged | error
    errors: list[str] = field(default_factory=list)


@dataclass
class ImportReport:
    rows: list[RowResult]
    written: int = 0

    @property
    def errors(self) -> list[RowResult]:
        return [row for row in self.rows if row.errors]

    def count(self, status: str) -> int:
        return sum(1 for row in self.rows if row.status == status)


def _read(data: bytes) -> list[list[str]]:
    if len(data) > MAX_BYTES:
        raise RatesFileError(_("The file is larger than %(n)s bytes.") % {"n": MAX_BYTES})
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise RatesFileError(_("The file is not UTF-8 text.")) from None
    if "\x00" in text:
        raise RatesFileError(_("The file is not UTF-8 text."))
    try:
        rows = list(csv.reader(io.StringIO(text)))
    except csv.Error:  # a quoted field never closed, or longer than csv's field limit
        raise RatesFileError(_("The file is not a CSV file of rates.")) from None
    rows = [row for row in rows if any(cell.strip() for cell in row)]
    if not rows or [cell.strip().lower() for cell in rows[0]] != HEADER:
        raise RatesFileError(_("The first line must be the header: %(header)s.")
                           % {"header": ",".join(HEADER)})
    if len(rows) - 1 > MAX_ROWS:
        raise RatesFileError(_("At most %(n)s rates per file.") % {"n": MAX_ROWS})
    return rows[1:]


def _check(line: int, cells: list[str], active: set[str]) -> RowResult:
    result = RowResult(line)
    if len(cells) != len(HEADER):
        result.errors.append(_("Expected 4 values (date,base,quote,rate), got %(n)s.")
                             % {"n": len(cells)})
        return result
    raw_day, base, quote, raw_rate = (cell.strip() for cell in cells)
    base, quote = base.upper(), quote.upper()
    day = None
    if _DATE.fullmatch(raw_day):
        with contextlib.suppress(ValueError):
            day = datetime.date.fromisoformat(raw_day)
    if day is None:
        result.errors.append(_("The date must be YYYY-MM-DD."))
    for code in (base, quote):
        if code not in active:
            result.errors.append(_("%(code)s is not an active currency of the directory.")
                                 % {"code": code[:10]})
    if base == quote and base:
        result.errors.append(_("Base and quote are the same currency."))
    rate = None
    if _RATE.fullmatch(raw_rate) and Decimal(raw_rate) > 0:
        rate = Decimal(raw_rate)
    else:
        result.errors.append(_("The rate must be a number greater than zero, with a point "
                               "and at most %(places)s decimals.")
                             % {"places": RATE_DECIMAL_PLACES})
    if not result.errors:
        result.key, result.rate = (day.isoformat(), base, quote), rate
    return result


def rates_import(data: bytes, *, dry_run: bool, entered_by=None) -> ImportReport:
    """Check every row, then (unless ``dry_run`` or any row is bad) add the new rates."""
    cells = _read(data)
    active = set(Currency.objects.filter(active=True).values_list("code", flat=True))
    results = [_check(number, row, active) for number, row in enumerate(cells, start=2)]
    keyed = [row for row in results if row.key]
    stored = {
        (r.valid_on.isoformat(), r.base_id, r.quote_id): r.rate
        for r in ExchangeRate.objects.filter(
            valid_on__in={datetime.date.fromisoformat(row.key[0]) for row in keyed},
            base_id__in={row.key[1] for row in keyed})
    }
    seen: dict[tuple[str, str, str], RowResult] = {}
    for row in keyed:
        earlier = seen.setdefault(row.key, row)
        if earlier is not row:
            if earlier.rate != row.rate:
                row.errors.append(_("Line %(line)s gives this pair and day another rate.")
                                  % {"line": earlier.line})
            else:
                row.status = "unchanged"
            continue
        if row.key in stored:
            if stored[row.key] == row.rate:
                row.status = "unchanged"
            else:
                row.errors.append(_("The rate of this pair and day is already %(rate)s; "
                                    "correct it in the staff panel.")
                                  % {"rate": f"{stored[row.key].normalize():f}"})
    for row in results:
        if row.errors:
            row.status = "error"
    report = ImportReport(results)
    if dry_run or report.errors:
        return report
    new = [ExchangeRate(valid_on=datetime.date.fromisoformat(row.key[0]), base_id=row.key[1],
                        quote_id=row.key[2], rate=row.rate, source=RateSource.FILE,
                        entered_by=entered_by)
           for row in results if row.status == "new"]
    with transaction.atomic():
        # A concurrent import of the same file adds each rate once (the unique pair-day).
        created = ExchangeRate.objects.bulk_create(new, ignore_conflicts=True)
    report.written = len(created)
    return report
