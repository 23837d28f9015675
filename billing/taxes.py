"""Which tax an invoice carries: the company's rate for the payer's country, or the
EU reverse charge for a business with a VAT id in another member state."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from stdnum.eu.vat import MEMBER_STATES

from accounts.models import Company, Payer
from billing.models import TaxRate, TaxTreatmentCode

REVERSE_CHARGE_NOTE = ("Reverse charge: VAT to be accounted for by the recipient "
                       "(Article 196, Council Directive 2006/112/EC).")


@dataclass(frozen=True)
class TaxTreatment:
    code: str
    rate: Decimal
    name: str = ""
    note: str = ""


NO_TAX = TaxTreatment(TaxTreatmentCode.NONE, Decimal(0))


def _in_eu(country: str) -> bool:
    return country.lower() in MEMBER_STATES or country.upper() == "GR"


def tax_treatment(company: Company, payer: Payer | None) -> TaxTreatment:
    payer_country = str(payer.country) if payer is not None else ""
    company_country = str(company.country)
    if (payer is not None and payer.is_business and payer.vat_id and _in_eu(payer_country)
            and _in_eu(company_country) and payer_country != company_country):
        return TaxTreatment(TaxTreatmentCode.REVERSE_CHARGE, Decimal(0), "VAT",
                            REVERSE_CHARGE_NOTE)
    rates = {rate.country: rate for rate in TaxRate.objects.filter(company=company)}
    rate = rates.get(payer_country) or rates.get("")
    if rate is None or rate.rate == 0:
        return NO_TAX
    return TaxTreatment(TaxTreatmentCode.STANDARD, rate.rate, rate.name)
