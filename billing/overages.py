"""Overages: metered usage above what a plan includes, charged when its period has ended.

Each usage record is charged once, on its own (a charge and its tax, posted from the
personal account even into debt: the usage happened), keyed by the record; the monthly
closing document lists it.
"""

from __future__ import annotations

from datetime import date

from django.db.models import CharField, Exists, OuterRef, Value
from django.db.models.functions import Cast, Concat

from accounts.selectors import company_for_provider
from billing.charges import ChargeSpec, charges_post
from billing.invoicing import default_payer
from billing.ledger import Leg, system_account
from billing.models import AccountKind, Charge, ChargeKind
from billing.taxes import NO_TAX, tax_of, tax_treatment
from core.days import start_of
from core.money import round_money
from services.models import ServiceUsage


def overages_due(as_of: date):
    """Usage records of periods ended by ``as_of`` whose overage is not charged yet."""
    charged = Charge.objects.filter(
        idempotency_key=Concat(Value("overage:"), Cast(OuterRef("pk"), CharField())))
    return ServiceUsage.objects.filter(period_end__lte=as_of).exclude(Exists(charged))


# How many usage records each client has to be charged for by %(day)s (the clock's chunks).
DUE_PER_CLIENT = """
    SELECT s.client_id, count(*) AS n FROM services_serviceusage u
    JOIN services_service s ON s.id = u.service_id
    WHERE u.period_end <= %(day)s
      AND NOT EXISTS (SELECT 1 FROM billing_charge c
                      WHERE c.idempotency_key = 'overage:' || u.id)
    GROUP BY s.client_id"""


def charge_overages(as_of: date, *, clients: tuple[int, int] | None = None) -> int:
    """Charge metered usage above the included amount of every period that has ended (of
    the clients with ids in ``clients``, when given). Each record is charged once: its
    charge's key is the record's."""
    count = 0
    usage = overages_due(as_of).select_related("addon", "service__client__provider",
                                                "service__plan").order_by("pk")
    if clients is not None:
        usage = usage.filter(service__client__pk__range=clients)
    for record in usage:
        over = record.quantity - record.addon.included
        if over <= 0 or record.addon.overage_price is None:
            continue
        net = round_money(record.addon.overage_price * over)
        if not net.amount:
            continue
        service = record.service
        key = f"overage:{record.pk}"
        company = company_for_provider(service.client.provider)
        treatment = tax_treatment(company, default_payer(service.client)) if company \
            else NO_TAX
        tax = tax_of(net, treatment.rate)
        currency = str(net.currency)
        _, created = charges_post(
            client=service.client, idempotency_key=key, allow_overdraft=True,
            at=start_of(as_of),
            description=f"Overage of {record.addon.name} for {service.name}",
            charges=[ChargeSpec(ChargeKind.OVERAGE, f"{record.addon.name} over the included "
                                f"{record.addon.included.normalize():f}: {service.name}",
                                net + tax, idempotency_key=key, service=service,
                                tax=tax, tax_rate=treatment.rate,
                                period_start=record.period_start, period_end=record.period_end,
                                derivation={"used": str(record.quantity),
                                            "included": str(record.addon.included),
                                            "unit_price": str(record.addon.overage_price.amount),
                                            "net": str(net.amount), "tax_rate": str(
                                                treatment.rate), "tax": str(tax.amount)})],
            counter=[Leg(system_account(AccountKind.REVENUE, currency, company=company), net),
                     Leg(system_account(AccountKind.TAX_PAYABLE, currency, company=company),
                         tax)])
        count += int(created)
    return count
