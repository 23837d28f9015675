"""Which tax a debit of a personal account carries, and how much: the one tax rule of
every path (checkout, renewal, configuration change, daily charge, overage).

* The treatment: the company's rate for the payer's country (or its default rate), or
  the EU reverse charge for a business with a VAT id in another member state.
* The amount: tax is computed on net amounts and rounded to the minor unit. A charge
  posted on its own (a day of a daily service, an overage) is its own line: its tax is
  ``tax_of(net)``. A document of several lines (an order's invoice) follows the company's
  rounding, per line or per document (``billing.calculators.document_totals``).

The set-based daily charge reads each client's rate from ``client_treatments`` (the same
rule, for many clients at once) and rounds in SQL as ``tax_of`` does; a test holds the two
together.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from djmoney.money import Money
from stdnum.eu.vat import MEMBER_STATES

from accounts.models import Company, Payer
from billing.models import TaxRate, TaxTreatmentCode
from core.money import round_money

REVERSE_CHARGE_NOTE = ("Reverse charge: VAT to be accounted for by the recipient "
                       "(Article 196, Council Directive 2006/112/EC).")


@dataclass(frozen=True)
class TaxTreatment:
    code: str
    rate: Decimal
    name: str = ""
    note: str = ""


NO_TAX = TaxTreatment(TaxTreatmentCode.NONE, Decimal(0))

# The payer a client's documents go to: its default payer, else the first by name.
PAYER_ORDER = ("-is_default", "name", "pk")


def _in_eu(country: str) -> bool:
    return country.lower() in MEMBER_STATES or country.upper() == "GR"


def treatment_for(company: Company, payer: Payer | None, rates: dict[str, TaxRate]
                  ) -> TaxTreatment:
    """The rule, given the company's rates by country ("" is its default rate)."""
    payer_country = str(payer.country) if payer is not None else ""
    company_country = str(company.country)
    if (payer is not None and payer.is_business and payer.vat_id and _in_eu(payer_country)
            and _in_eu(company_country) and payer_country != company_country):
        return TaxTreatment(TaxTreatmentCode.REVERSE_CHARGE, Decimal(0), "VAT",
                            REVERSE_CHARGE_NOTE)
    rate = rates.get(payer_country) or rates.get("")
    if rate is None or rate.rate == 0:
        return NO_TAX
    return TaxTreatment(TaxTreatmentCode.STANDARD, rate.rate, rate.name)


def company_rates(company: Company) -> dict[str, TaxRate]:
    return {rate.country: rate for rate in TaxRate.objects.filter(company=company)}


def tax_treatment(company: Company, payer: Payer | None) -> TaxTreatment:
    return treatment_for(company, payer, company_rates(company))


def client_treatments(company: Company, client_ids: Iterable[int]) -> dict[int, TaxTreatment]:
    """Each client's treatment by ``company``, for its default payer: two queries however
    many clients (the daily charge asks for a chunk's clients at once)."""
    client_ids = list(client_ids)
    rates = company_rates(company)
    payers: dict[int, Payer] = {}
    # Each client's payer as billing.invoicing.default_payer picks it: that order first.
    for payer in Payer.objects.filter(client_id__in=client_ids).only(
            "client_id", "kind", "country", "vat_id", "is_default", "name").order_by(
            "client_id", *PAYER_ORDER):
        payers.setdefault(payer.client_id, payer)
    # The rule reads the payer's country, kind and VAT id only: worked out once per
    # combination (a chunk's thousands of clients have a handful).
    worked_out: dict[tuple, TaxTreatment] = {}

    def treatment(payer: Payer | None) -> TaxTreatment:
        key = None if payer is None else (str(payer.country), payer.is_business,
                                          bool(payer.vat_id))
        if key not in worked_out:
            worked_out[key] = treatment_for(company, payer, rates)
        return worked_out[key]

    return {client_id: treatment(payers.get(client_id)) for client_id in client_ids}


def tax_of(net: Money, rate: Decimal) -> Money:
    """The tax of one charge or credit posted on its own (its own line): the net times
    the rate, rounded to the minor unit, half away from zero."""
    return round_money(net * rate)
