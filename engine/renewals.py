"""Auto-renewal of period services, by the billing clock.

N days before expiry (the provider's ``renewal_lead_days``) a service with auto-renewal on
is renewed for its billing period: the expiry moves by the period exactly
(services.periods: month ends and leap years keep the anchor day).

A chunk of clients renews in three passes:

1. A renewal that already has an order of its own waiting (a card payment under way, a
   decline the client may retry) goes on through that order (``renew``).
2. The others are paid from the balance, set-based (``renew_from_balance``): priced by
   the cart's one pricing function (``cart.pricing.quote_in``, as a renewal bought one by
   one), paid in order of service id while the client's balance plus credit limit covers
   them, and written in a few statements: one ledger transaction (a debit per client,
   revenue, discounts and tax per company), a charge, a period cost and a history row per
   service, the expiries moved, the renewal operations handed to the module in batches,
   a mail each. A renewal paid from the balance has no invoice: an invoice asks for a
   payment, and the personal account paid; the month's closing document lists it, as
   BILLmanager's acts do (docs/decisions.md).
3. What the balance did not cover is charged to the client's saved card with autopay, if
   there is one, through an order of its own (``renew``: the order's invoice is the
   request the card pays); otherwise the renewal waits for money, the client is told once
   per expiry, and a payment renews it (``engine.resume``), or the service stops when it
   expires.

A period is renewed once whatever the path: the renewal charge is unique per service and
period start in the database, and the batch reads the expiries under its clients' account
locks, which every payment takes first.
"""

from __future__ import annotations

import contextlib
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

from django.db import connection, transaction
from django.db.models import Prefetch
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from djmoney.money import Money

from accounts.models import Client, Provider
from accounts.notifications import Notice, notify, notify_many
from billing.charges import ChargeSpec, ClientCharge, charges_post_batch
from billing.ledger import InsufficientFunds, Leg, system_account
from billing.models import AccountKind, ChargeKind
from billing.selectors import best_discount_percent
from cart.checkout import (
    CheckoutError,
    order_for_services,
    order_pay_from_balance,
    period_costs_record,
)
from cart.models import ItemKind, Order, OrderStatus
from cart.order_payments import PayChoice, order_pay
from cart.pricing import (
    ItemError,
    ItemSpec,
    PricingContext,
    pricing_contexts,
    quote_in,
    renewal_description,
    renewal_period,
)
from core.days import start_of
from core.money import format_money
from payments.models import OPEN_STATUSES, PaymentPurpose, SavedPaymentMethod
from services.actions import service_renew_many
from services.models import (
    Addon,
    Service,
    ServiceAddon,
    ServiceStatus,
    TariffPlan,
)

S = ServiceStatus

# A service whose renewal is due on %(day)s: auto-renewal on, a period plan, expiring
# within its provider's lead days, and running or stopped for money (a payment resumes it).
RENEWAL_DUE = """
    FROM services_service s
    JOIN services_tariffplan p ON p.id = s.plan_id AND p.charging = 'period'
    JOIN accounts_client c ON c.id = s.client_id
    JOIN accounts_provider pr ON pr.id = c.provider_id
    WHERE s.auto_renew AND s.expires_on <= %(day)s + pr.renewal_lead_days
      AND (s.status = 'active'
           OR (s.status = 'suspended' AND s.suspend_reason IN ('expired', 'nonpayment')))"""
DUE_PER_CLIENT = f"SELECT s.client_id, count(*) AS n {RENEWAL_DUE} GROUP BY s.client_id"

# Whether the due service ``s`` has an order of its own waiting for its renewal (its key
# is renewal_key's).
_WAITING_ORDER = """EXISTS (
    SELECT 1 FROM cart_order o WHERE o.client_id = s.client_id AND o.status = 'pending'
       AND o.idempotency_key = 'autorenew:' || s.id || ':' || s.expires_on)"""


@dataclass
class RenewalsDone:
    renewed: list[int] = field(default_factory=list)
    pending: list[int] = field(default_factory=list)  # waiting for money
    failed: list[int] = field(default_factory=list)  # cannot be priced
    amounts: dict[str, Decimal] = field(default_factory=dict)

    def add(self, other: RenewalsDone) -> None:
        self.renewed += other.renewed
        self.pending += other.pending
        self.failed += other.failed
        for currency, amount in other.amounts.items():
            self.amounts[currency] = self.amounts.get(currency, Decimal(0)) + amount


def renewal_key(service: Service) -> str:
    return f"autorenew:{service.pk}:{service.expires_on}"


def due_ids(as_of: date, clients: tuple[int, int], *, waiting_order: bool) -> list[int]:
    """The services of the clients ``clients`` whose renewal is due, with or without an
    order of their own waiting, in id order."""
    condition = _WAITING_ORDER if waiting_order else f"NOT {_WAITING_ORDER}"
    with connection.cursor() as cursor:
        cursor.execute(f"""SELECT s.id {RENEWAL_DUE} AND {condition}
                           AND s.client_id BETWEEN %(lo)s AND %(hi)s ORDER BY s.id""",
                       {"day": as_of, "lo": clients[0], "hi": clients[1]})
        return [row[0] for row in cursor.fetchall()]


def renew_chunk(as_of: date, lo: int, hi: int, *, charge_saved: bool = True) -> RenewalsDone:
    """Renew what is due for the clients lo..hi (the three passes above)."""
    done = RenewalsDone()
    for service in _services(due_ids(as_of, (lo, hi), waiting_order=True)):
        done.add(_outcome(service, renew(service, as_of, charge_saved=charge_saved)))
    paid, short = renew_from_balance(as_of, (lo, hi))
    done.add(paid)
    with_card = _autopay_clients({service.client_id for service in short}) \
        if charge_saved else set()
    waiting = []
    for service in short:
        if service.client_id in with_card:
            done.add(_outcome(service, renew(service, as_of, charge_saved=True)))
        else:
            waiting.append(service)
    _tell_failed(waiting, start_of(as_of), _("the balance does not cover it"))
    done.pending += [service.pk for service in waiting]
    return done


def _services(ids: list[int]) -> list[Service]:
    return list(Service.objects.filter(pk__in=ids).select_related("client__provider", "plan")
                .order_by("pk"))


def _outcome(service: Service, result: str) -> RenewalsDone:
    done = RenewalsDone()
    {"renewed": done.renewed, "pending": done.pending, "failed": done.failed}[result].append(
        service.pk)
    return done


# Pass 2: from the balance, set-based ---------------------------------------------------------
@dataclass(frozen=True)
class _Figures:
    """What one renewal of a (plan, period, addon values, discount, tax) costs: the quote
    of the cart's pricing function, which depends on nothing else."""

    base: Money
    discount: Money
    net: Money
    tax: Money
    gross: Money
    rate: Decimal
    derivation: dict
    cost_owed: Fraction
    cost_charged: Money


@dataclass(frozen=True)
class _Renewal:
    service: Service
    company: object
    figures: _Figures
    start: date
    end: date


def renew_from_balance(as_of: date, clients: tuple[int, int], *, at: datetime | None = None
                       ) -> tuple[RenewalsDone, list[Service]]:
    """Renew from the balance every due service of the clients ``clients`` that has no
    order of its own waiting, in one transaction; returns what was renewed, and the
    services the balance did not cover (for the card, or to wait). ``at`` is the moment
    written: the clock's day's start, or the present when a payment renews."""
    at = at or start_of(as_of)
    done = RenewalsDone()
    with transaction.atomic():
        available = _lock_accounts(clients)
        # Read after the locks: a payment that renewed one of these meanwhile has
        # committed its new expiry, and the service is no longer due.
        services = _due_services(due_ids(as_of, clients, waiting_order=False))
        if not services:
            return done, []
        values = _addon_values([service.pk for service in services])
        contexts = pricing_contexts(list({s.client_id: s.client for s in services}.values()),
                                    at)
        paid: list[_Renewal] = []
        short: list[Service] = []
        unpriced: list[tuple[Service, str]] = []
        priced: dict[tuple, _Figures] = {}
        for service in services:
            context = contexts[service.client_id]
            try:
                figures = _figures(service, context, as_of, at, values, priced)
            except ItemError as error:
                unpriced.append((service, str(error)))
                continue
            account = available.get(service.client_id)
            if account is None or figures.gross.amount > account[1]:
                short.append(service)
                continue
            available[service.client_id] = (account[0], account[1] - figures.gross.amount)
            start, end = renewal_period(service, service.billing_period, as_of)
            paid.append(_Renewal(service, context.company, figures, start, end))
        if paid:
            _write(paid, {client: account[0] for client, account in available.items()},
                   as_of, clients, at)
        done.renewed = [renewal.service.pk for renewal in paid]
        for renewal in paid:
            currency = str(renewal.figures.gross.currency)
            done.amounts[currency] = done.amounts.get(currency, Decimal(0)) \
                + renewal.figures.gross.amount
        for service, reason in unpriced:
            _tell_failed([service], at, reason)
        done.failed = [service.pk for service, _reason in unpriced]
    return done, short


_SERVICE_FIELDS = ("client", "plan", "name", "billing_period", "status", "operation",
                   "suspend_reason", "auto_renew", "expires_on", "anchor_day")
_CLIENT_FIELDS = ("provider", "name", "email")


def _due_services(ids: list[int]) -> list[Service]:
    """The services, locked, each with its client and provider, and one shared instance
    of each plan with its prices and addons (a chunk has thousands of services and a few
    plans)."""
    services = list(Service.objects.filter(pk__in=ids).select_for_update(of=("self",))
                    .order_by("pk").select_related("client")
                    # What renewing reads: not the services' parameters, not the client's
                    # notes (a chunk has thousands).
                    .only(*_SERVICE_FIELDS, *(f"client__{f}" for f in _CLIENT_FIELDS)))
    plans = TariffPlan.objects.select_related("provider").prefetch_related(
        "prices", Prefetch("addons", queryset=Addon.objects.prefetch_related("prices"))
    ).in_bulk({service.plan_id for service in services})
    providers = Provider.objects.in_bulk({service.client.provider_id for service in services})
    for service in services:
        service.plan = plans[service.plan_id]
        service.client.provider = providers[service.client.provider_id]
    return services


def _addon_values(service_ids: list[int]) -> dict[int, tuple]:
    """Each service's addon values, as a key: what its price depends on besides its plan."""
    values: dict[int, list] = defaultdict(list)
    for service_id, addon_id, quantity, choice_id in ServiceAddon.objects.filter(
            service_id__in=service_ids).order_by("addon_id").values_list(
            "service_id", "addon_id", "quantity", "choice_id"):
        values[service_id].append((addon_id, quantity, choice_id))
    return {service_id: tuple(rows) for service_id, rows in values.items()}


def _lock_accounts(clients: tuple[int, int]) -> dict[int, tuple[int, Decimal]]:
    """Lock the personal accounts of the clients in id order (as the daily charge and
    every payment do) and return each one's id and what it may spend."""
    with connection.cursor() as cursor:
        cursor.execute("""
            SELECT client_id, id, balance + credit_limit - held FROM billing_ledgeraccount
            WHERE kind = 'client' AND client_id BETWEEN %s AND %s
            ORDER BY id FOR UPDATE""", list(clients))
        return {client: (account, spendable) for client, account, spendable
                in cursor.fetchall()}


def _figures(service: Service, context: PricingContext, as_of: date, at: datetime,
             values: dict[int, tuple], priced: dict[tuple, _Figures]) -> _Figures:
    """One renewal priced as the cart prices it when it is bought on its own
    (``quote_in``); renewals with the same inputs are priced once (``priced``)."""
    period = service.billing_period
    key = (service.plan_id, period, values.get(service.pk, ()),
           best_discount_percent(context.discounts, service.plan), context.treatment.rate,
           context.company.tax_rounding if context.company else "")
    if key not in priced:
        quoted = quote_in(context, [ItemSpec(ItemKind.RENEWAL, service, period=period)],
                          today=as_of, when=at)
        item = quoted.items[0]
        net, tax = quoted.net_lines[0], quoted.tax_lines[0]
        derivation = {k: v for k, v in item.derivation.items() if k not in ("from", "to")}
        priced[key] = _Figures(item.base, item.discount or Money(0, quoted.currency), net,
                               tax, net + tax, quoted.treatment.rate,
                               {**derivation, "tax": str(tax.amount),
                                "base": str(item.base.amount)},
                               item.cost_owed, item.cost_charged)
    return priced[key]


def _write(paid: list[_Renewal], accounts: dict[int, int], as_of: date,
           clients: tuple[int, int], at: datetime) -> None:
    by_currency: dict[str, list[_Renewal]] = defaultdict(list)
    for renewal in paid:
        by_currency[str(renewal.figures.gross.currency)].append(renewal)
    language = get_language()
    for currency, renewals in by_currency.items():
        charges_post_batch(
            charges=[ClientCharge(r.service.client_id, accounts[r.service.client_id],
                                  ChargeSpec(ChargeKind.RENEWAL,
                                             renewal_description(r.service,
                                                                 r.service.billing_period,
                                                                 language=language),
                                             r.figures.gross,
                                             idempotency_key=f"renewal:{r.service.pk}:"
                                                             f"{r.start}",
                                             service=r.service, period_start=r.start,
                                             period_end=r.end, tax=r.figures.tax,
                                             tax_rate=r.figures.rate,
                                             derivation={**r.figures.derivation,
                                                         "from": str(r.start),
                                                         "to": str(r.end),
                                                         "day": str(as_of)}))
                     for r in renewals],
            counter=_counter_legs(renewals, currency), currency=currency, at=at,
            idempotency_key=f"renewals:{as_of}:{clients[0]}-{clients[1]}:{currency}:"
                            f"{uuid.uuid4().hex}",
            description=f"Renewals of {as_of}, clients {clients[0]}-{clients[1]}",
            details={"day": str(as_of), "clients": list(clients)})
    period_costs_record([(r.service.pk, r.start, r.figures.cost_owed, r.figures.cost_charged)
                         for r in paid], at=at)
    service_renew_many(expiries={r.service.pk: r.end for r in paid}, now=at)
    for r in paid:
        r.service.expires_on = r.end
    amounts = {gross: format_money(gross) for gross in {r.figures.gross for r in paid}}
    notify_many(event="renewal_done", at=at, notices=[
        Notice(r.service.client, renewal_key(r.service),
               {"service": r.service, "expires_on": r.end,
                "amount": amounts[r.figures.gross]}) for r in paid])


def _counter_legs(renewals: list[_Renewal], currency: str) -> list[Leg]:
    """Where the money goes, as an order's debit sends it: the prices to revenue, the
    discounts out of it, the tax to the taxes payable; per company."""
    by_company: dict = defaultdict(list)
    for r in renewals:
        by_company[r.company].append(r.figures)
    legs = []
    for company, items in by_company.items():
        # Decimals summed, then made Money once: thousands of Money additions are slow.
        # Every figure is in ``currency`` (the renewals were grouped by it).
        legs += [
            Leg(system_account(AccountKind.REVENUE, currency, company=company),
                Money(sum(f.base.amount for f in items), currency)),
            Leg(system_account(AccountKind.DISCOUNTS, currency, company=company),
                -Money(sum(f.discount.amount for f in items), currency)),
            Leg(system_account(AccountKind.TAX_PAYABLE, currency, company=company),
                Money(sum(f.tax.amount for f in items), currency))]
    return legs


def _autopay_clients(client_ids: set[int]) -> set[int]:
    return set(SavedPaymentMethod.objects.filter(
        client_id__in=client_ids, is_active=True, autopay=True, method__is_enabled=True)
        .values_list("client_id", flat=True))


def _tell_failed(services: list[Service], at: datetime, reason: str) -> None:
    notify_many(event="renewal_failed", at=at, notices=[
        Notice(service.client, f"{renewal_key(service)}:failed",
               {"service": service, "reason": reason, "expires_on": service.expires_on})
        for service in services])


# Passes 1 and 3: one renewal through an order of its own ----------------------------------------
def renew(service: Service, as_of: date, *, charge_saved: bool = True) -> str:
    """Renew one service by an order of one renewal, made without the cart and keyed by
    the service and the expiry it renews (running the day twice renews once): paid from
    the balance, else (``charge_saved``) the missing amount is charged to the client's
    saved card with autopay first. Returns "renewed", "pending" (no money yet) or
    "failed" (it cannot be priced)."""
    try:
        order = order_for_services(
            client=service.client, idempotency_key=renewal_key(service), today=as_of,
            when=start_of(as_of),
            specs=[ItemSpec(ItemKind.RENEWAL, service, period=service.billing_period)])
    except CheckoutError as error:
        _failed(service, str(error))
        return "failed"
    if order.status == OrderStatus.PAID:
        return "renewed"
    # Short (or a card payment of it still under way): try the card below, or wait.
    with contextlib.suppress(InsufficientFunds, CheckoutError):
        order_pay_from_balance(order=order, user=None, at=start_of(as_of))
    order.refresh_from_db()
    saved = _autopay_method(service.client)
    if order.status != OrderStatus.PAID and saved is not None and charge_saved:
        # One attempt a day on the card, until the service expires; a decline is reported
        # below through the order still waiting.
        with contextlib.suppress(CheckoutError):
            order_pay(order=order, user=None, purpose=PaymentPurpose.AUTOPAY,
                      choice=PayChoice("saved", saved=saved, use_balance=True),
                      idempotency_key=f"{renewal_key(service)}:{as_of}", at=start_of(as_of))
        order.refresh_from_db()
    if order.status == OrderStatus.PAID:
        service.refresh_from_db()
        notify(client=service.client, event="renewal_done", key=renewal_key(service),
               context={"service": service, "expires_on": service.expires_on,
                        "amount": format_money(order.total_money)})
        return "renewed"
    reason = _("the balance does not cover it")
    if saved is not None and charge_saved:
        reason = _("the balance does not cover it and %(card)s was not charged") % {
            "card": saved.label}
    _failed(service, reason)
    return "pending"


def _autopay_method(client: Client) -> SavedPaymentMethod | None:
    return (client.saved_methods.filter(is_active=True, autopay=True, method__is_enabled=True)
            .select_related("method").order_by("-is_default", "-created_at").first())


def _failed(service: Service, reason: str) -> None:
    notify(client=service.client, event="renewal_failed", key=f"{renewal_key(service)}:failed",
           context={"service": service, "reason": reason, "expires_on": service.expires_on})


# A payment still open this long after it started protects its services no more: a
# bank transfer nobody makes must not keep a service running for ever.
IN_FLIGHT_DAYS = 3


def services_with_payment_in_flight(as_of: date, *, clients: tuple[int, int]) -> set[int]:
    """Services (of the clients ``clients``) whose payment a gateway has not answered yet
    (started within ``IN_FLIGHT_DAYS``): never suspended meanwhile."""
    pending = Order.objects.filter(
        client__pk__range=clients, status=OrderStatus.PENDING_PAYMENT,
        invoice__payments__status__in=OPEN_STATUSES,
        invoice__payments__created_at__date__gte=as_of - timedelta(days=IN_FLIGHT_DAYS))
    return set(pending.values_list("items__service_id", flat=True))
