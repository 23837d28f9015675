"""Demo catalog and demo services for `manage.py seed_demo`. Idempotent."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from djmoney.money import Money

from accounts.models import Client, Provider
from services.lifecycle import service_transition
from services.models import (
    Addon,
    AddonKind,
    AddonPrice,
    Charging,
    Enumeration,
    EnumerationItem,
    Operation,
    PlanPrice,
    ProductGroup,
    ProductType,
    Service,
    ServiceAddon,
    ServiceStatus,
    ServiceUsage,
    SuspendReason,
    TariffPlan,
    UnitOfMeasure,
)
from services.operations import service_request
from services.periods import BillingPeriod, add_period

P = BillingPeriod
S = ServiceStatus
MONTHS = {P.MONTH: 1, P.QUARTER: 3, P.HALF_YEAR: 6, P.YEAR: 12}


def _plan(provider, name, product_type, *, prices, **fields) -> TariffPlan:
    plan, created = TariffPlan.objects.get_or_create(
        provider=provider, name=name, defaults={"product_type": product_type, **fields})
    if created:
        for period, (price, setup) in prices.items():
            PlanPrice.objects.create(
                plan=plan, period=period, price=Money(price, provider.currency),
                setup_fee=Money(setup, provider.currency) if setup else None)
    return plan


def _addon(plan, code, name, kind, *, monthly=None, daily=None, choices=None, **fields) -> Addon:
    addon, created = Addon.objects.get_or_create(
        plan=plan, code=code, defaults={"name": name, "kind": kind, **fields})
    if not created:
        return addon
    currency = plan.currency
    if monthly is not None:
        for period, months in MONTHS.items():
            AddonPrice.objects.create(addon=addon, period=period,
                                      price=Money(Decimal(monthly) * months, currency))
    if daily is not None:
        AddonPrice.objects.create(addon=addon, period=P.DAY, price=Money(daily, currency))
    for item, monthly_price in (choices or {}).items():
        for period, months in MONTHS.items():
            AddonPrice.objects.create(addon=addon, period=period, choice=item,
                                      price=Money(Decimal(monthly_price) * months, currency))
    return addon


@transaction.atomic
def seed_catalog() -> dict[str, TariffPlan]:
    gb, _ = UnitOfMeasure.objects.get_or_create(symbol="GB", defaults={"name": "gigabyte"})
    ip, _ = UnitOfMeasure.objects.get_or_create(symbol="IP", defaults={"name": "IP address"})
    UnitOfMeasure.objects.get_or_create(symbol="pcs", defaults={"name": "pieces"})
    images, _ = Enumeration.objects.get_or_create(name="OS images")
    os_items = {}
    for position, (code, label) in enumerate([
        ("ubuntu-24-04", "Ubuntu 24.04 LTS"), ("debian-12", "Debian 12"),
        ("almalinux-9", "AlmaLinux 9"), ("windows-2022", "Windows Server 2022"),
    ]):
        os_items[code], _ = EnumerationItem.objects.get_or_create(
            enumeration=images, code=code, defaults={"label": label, "position": position})

    usd = Provider.objects.get(name="OpenBill Hosting")
    eur = Provider.objects.get(name="OpenBill Domains EU")
    groups = {}
    for product_type, name in [(ProductType.VIRTUAL_SERVER, "Virtual servers"),
                               (ProductType.SHARED_HOSTING, "Web hosting"),
                               (ProductType.DOMAIN, "Domain names"),
                               (ProductType.SSL, "SSL certificates"),
                               (ProductType.DEDICATED, "Dedicated servers")]:
        groups[product_type], _ = ProductGroup.objects.get_or_create(
            provider=usd, name=name, defaults={"product_type": product_type})

    fast = {"delay": 3}
    vps = _plan(usd, "VPS Start", ProductType.VIRTUAL_SERVER, group=groups["vps"],
                module="simulated", module_settings=fast,
                description="1 vCPU, SSD, a public IPv4 address.",
                instruction_manual="Sign in as root over SSH with the key you chose.",
                prices={P.MONTH: ("10.00", "5.00"), P.QUARTER: ("28.50", None),
                        P.HALF_YEAR: ("54.00", None), P.YEAR: ("100.00", None)})
    _addon(vps, "disk", "Disk", AddonKind.QUANTITY, unit=gb, included=20, minimum=20,
           maximum=500, step=10, default_value=20, monthly="0.10", position=1)
    _addon(vps, "ram", "RAM", AddonKind.QUANTITY, unit=gb, included=1, minimum=1, maximum=32,
           step=1, default_value=1, monthly="2.00", position=2)
    _addon(vps, "ipv4", "IPv4 addresses", AddonKind.QUANTITY, unit=ip, included=1, minimum=1,
           maximum=8, step=1, default_value=1, monthly="1.50", position=3)
    _addon(vps, "os", "Operating system", AddonKind.CHOICE, enumeration=images,
           choices={os_items["windows-2022"]: "15.00"}, position=4)
    _addon(vps, "traffic", "Traffic", AddonKind.METERED, unit=gb, included=1000,
           overage_price=Money("0.01", "USD"), position=5)

    daily = _plan(usd, "VPS Daily", ProductType.VIRTUAL_SERVER, group=groups["vps"],
                  module="simulated", module_settings=fast, charging=Charging.DAILY,
                  description="Pay per day from the personal account; stop any time.",
                  prices={P.DAY: ("1.00", None)})
    _addon(daily, "disk", "Disk", AddonKind.QUANTITY, unit=gb, included=20, minimum=20,
           maximum=200, step=10, default_value=20, daily="0.01", position=1)

    hosting = _plan(usd, "Web Start", ProductType.SHARED_HOSTING, group=groups["hosting"],
                    module="simulated", module_settings=fast,
                    description="10 sites, 20 GB, free SSL.",
                    prices={P.MONTH: ("3.99", None), P.YEAR: ("39.90", None)})
    domain = _plan(usd, ".com domain", ProductType.DOMAIN, group=groups["domain"],
                   module="simulated", module_settings=fast, client_can_delete=False,
                   needs_configuration=True,
                   prices={P.YEAR: ("12.99", None), P.TWO_YEARS: ("25.98", None)})
    PlanPrice.objects.filter(plan=domain, period=P.YEAR).update(
        renewal_price=Money("14.99", "USD"))
    ssl = _plan(usd, "Basic SSL", ProductType.SSL, group=groups["ssl"], module="manual",
                instruction_manual="Install the certificate and the CA bundle we e-mail you.",
                prices={P.YEAR: ("9.99", None), P.TWO_YEARS: ("18.99", None)})
    dedicated = _plan(usd, "Dedicated E3", ProductType.DEDICATED, group=groups["dedicated"],
                      module="simulated", module_settings={"delay": 3, "capacity": 0},
                      prices={P.MONTH: ("99.00", "49.00"), P.YEAR: ("990.00", None)})
    _plan(usd, "VPS Legacy", ProductType.VIRTUAL_SERVER, group=groups["vps"], module="simulated",
          is_archived=True, prices={P.MONTH: ("8.00", None)})
    eu_domain = _plan(eur, ".eu domain", ProductType.DOMAIN, module="simulated",
                      module_settings=fast, prices={P.YEAR: ("8.00", None)})
    return {"vps": vps, "daily": daily, "hosting": hosting, "domain": domain, "ssl": ssl,
            "dedicated": dedicated, "eu_domain": eu_domain}


def _service(client, plan, name, period, *, parameters=None, addons=None, auto_renew=False,
             created=None):
    service = Service.objects.create(client=client, plan=plan, name=name, billing_period=period,
                                     parameters=parameters or {}, auto_renew=auto_renew,
                                     created_at=created or timezone.now())
    for code, value in (addons or {}).items():
        addon = plan.addons.get(code=code)
        if addon.kind == AddonKind.CHOICE:
            ServiceAddon.objects.create(service=service, addon=addon,
                                        choice=addon.enumeration.items.get(code=value))
        else:
            ServiceAddon.objects.create(service=service, addon=addon, quantity=Decimal(value))
    return service


def _activate(service, when):
    service_transition(service=service, to=S.IN_PROGRESS, operation=Operation.ACTIVATION,
                       reason="Demo order paid", now=when)
    service_transition(service=service, to=S.ACTIVE, operation=Operation.ACTIVATION,
                       reason="Activated", now=when + timedelta(seconds=4))


@transaction.atomic
def seed_services(plans: dict[str, TariffPlan]) -> None:
    client = Client.objects.get(email="client@example.com")
    if client.services.exists():
        return
    now = timezone.now()
    vps = _service(client, plans["vps"], "web-1.dana.example", P.MONTH, auto_renew=True,
                   created=now - timedelta(days=11),
                   parameters={"hostname": "web-1.dana.example",
                               "ip_addresses": ["10.20.0.11", "10.20.0.12"]},
                   addons={"disk": 60, "ram": 4, "ipv4": 2, "os": "ubuntu-24-04"})
    _activate(vps, now - timedelta(days=11))
    today = timezone.localdate()
    ServiceUsage.objects.create(service=vps, addon=plans["vps"].addons.get(code="traffic"),
                                period_start=today - timedelta(days=11),
                                period_end=add_period(today - timedelta(days=11), P.MONTH),
                                quantity=Decimal("1375.5"), source="demo")

    # Started a few days before this month began: the clock's catch-up charges each day
    # since and documents last month (its closing document) on the 1st.
    started = now - timedelta(days=today.day - 1 + 5)
    daily = _service(client, plans["daily"], "test-box.dana.example", P.DAY,
                     created=started,
                     parameters={"hostname": "test-box.dana.example",
                                 "ip_addresses": ["10.20.0.13"]}, addons={"disk": 30})
    _activate(daily, started)

    hosting = _service(client, plans["hosting"], "dana.example hosting", P.YEAR,
                       created=now - timedelta(days=200), parameters={"domain": "dana.example"})
    _activate(hosting, now - timedelta(days=200))
    service_transition(service=hosting, to=S.IN_PROGRESS, operation=Operation.SUSPENSION,
                       reason="Suspended by the client", now=now - timedelta(days=2))
    service_transition(service=hosting, to=S.SUSPENDED, operation=Operation.SUSPENSION,
                       suspend_reason=SuspendReason.CLIENT, reason="Suspended",
                       now=now - timedelta(days=2))

    domain = _service(client, plans["domain"], "dana.example", P.YEAR,
                      created=now - timedelta(days=340), parameters={"domain": "dana.example",
                                  "nameservers": ["ns1.openbill.example", "ns2.openbill.example"]})
    _activate(domain, now - timedelta(days=340))

    ssl = _service(client, plans["ssl"], "SSL for dana.example", P.YEAR,
                   parameters={"domain": "dana.example"})
    service_request(service=ssl, operation=Operation.ACTIVATION, target=S.ACTIVE, actor=None,
                    reason="Demo order paid")

    _service(client, plans["dedicated"], "Dedicated for backups", P.MONTH)  # Ordered, unpaid
    legacy = _service(client, plans["vps"], "old-vps.dana.example", P.MONTH,
                      created=now - timedelta(days=400))
    _activate(legacy, now - timedelta(days=400))
    service_transition(service=legacy, to=S.IN_PROGRESS, operation=Operation.DELETION,
                       reason="Deleted by the client", now=now - timedelta(days=30))
    service_transition(service=legacy, to=S.DELETED, operation=Operation.DELETION,
                       reason="Deleted", now=now - timedelta(days=30))


def seed() -> None:
    seed_services(seed_catalog())
