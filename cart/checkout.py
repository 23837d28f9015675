"""Checkout: an order from the cart, and an order paid from the personal account, in one
database transaction per step.

1. ``order_create`` re-prices the cart (nothing from the browser is trusted), creates the
   order with its priced items (prices are locked from here), reserves a promo code use
   and empties the cart; all under the cart's row lock, keyed by the checkout form's key,
   so a double click or a second tab makes one order.
2. ``order_pay_from_balance`` completes it from the balance: the order's invoice, one
   debit with a charge per item, the invoice paid by it, and each service moved on
   through the state machine. It is also how a payment by a method completes the order
   (``cart.order_payments``): the payment credits the balance and this debits it, in the
   same transaction. A declined or abandoned payment leaves the order pending, its
   services Ordered, and nothing debited.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from djmoney.money import Money

from accounts.actionlog import log_action
from accounts.models import Client, Company, User
from billing.charges import ChargeSpec, charges_post
from billing.invoicing import (
    LineSpec,
    credit_note_issue,
    credited_so_far,
    invoice_cancel,
    invoice_issue,
    invoice_mark_paid,
)
from billing.ledger import (
    InsufficientFunds,
    Leg,
    ledger_post,
    lock_accounts,
    personal_account,
    system_account,
)
from billing.models import (
    AccountKind,
    ChargeKind,
    Invoice,
    InvoiceKind,
    InvoiceStatus,
    TransactionKind,
)
from billing.selectors import credit_source
from billing.taxes import TaxTreatment
from cart.models import (
    Cart,
    CartItem,
    ItemKind,
    Order,
    OrderItem,
    OrderStatus,
    PeriodCost,
    PromoCode,
    PromoRedemption,
)
from cart.operations import agreements_missing, item_spec, values_from_json
from cart.pricing import ItemError, Quote, quote
from core.money import format_money, money_sum, zero
from payments.models import Payment
from payments.processing import open_payment_for
from services import actions as service_actions
from services.lifecycle import service_transition
from services.models import Service, ServiceStatus

CHARGE_KIND = {ItemKind.NEW: ChargeKind.ORDER, ItemKind.RENEWAL: ChargeKind.RENEWAL,
               ItemKind.CHANGE: ChargeKind.CHANGE, ItemKind.AUTO_RENEW: ChargeKind.RENEWAL}


class CheckoutError(Exception):
    """The checkout cannot go on; the message says why. Nothing was charged."""


class PaymentUnderWay(CheckoutError):
    """The order has a payment a gateway has not finished with: paying it another way
    now could take the money twice."""

    def __init__(self, payment: Payment):
        self.payment = payment
        super().__init__(_("A payment of this order by %(method)s is under way: go on with "
                           "it, or cancel it to pay another way.") % {
            "method": payment.method.name})


# Step 1: the order ---------------------------------------------------------------------------
@transaction.atomic
def order_create(*, client: Client, user: User, idempotency_key: str, now: datetime,
                 item_ids: list[int] | None = None, request=None) -> Order:
    """The order of the cart (or of some of its items), priced at ``now``."""
    existing = Order.objects.filter(client=client, idempotency_key=idempotency_key).first()
    if existing is not None:
        return existing
    cart = Cart.objects.select_for_update().get(client=client)
    existing = Order.objects.filter(client=client, idempotency_key=idempotency_key).first()
    if existing is not None:  # the same checkout, waiting on the lock: it is done
        return existing
    items = list(cart.items.select_related("service__plan", "new_plan"))
    if item_ids is not None:
        items = [item for item in items if item.pk in item_ids]
    if not items:
        raise CheckoutError("Your cart is empty.")
    missing = agreements_missing(client, {item.service.plan for item in items}
                                 | {item.new_plan for item in items if item.new_plan})
    if missing:
        raise CheckoutError("Accept the service agreement first: "
                            + ", ".join(a.title for a in missing) + ".")
    promo = None
    if cart.promo_code_id:
        promo = PromoCode.objects.select_for_update().get(pk=cart.promo_code_id)
    order = _order_from_quote(client=client, user=user, idempotency_key=idempotency_key,
                              specs=[item_spec(i) for i in items], promo=promo,
                              today=timezone.localdate(now), when=now)
    if order.promo_code is not None and order.discount > 0:
        PromoCode.objects.filter(pk=promo.pk).update(uses=promo.uses + 1)
        PromoRedemption.objects.create(promo=promo, client=client, order=order,
                                       amount=order.discount)
    CartItem.objects.filter(pk__in=[item.pk for item in items]).delete()
    if item_ids is None:
        cart.promo_code = None
        cart.save(update_fields=["promo_code", "updated_at"])
    log_action(actor=user, action="order.created", obj=order, client=client, request=request,
               details={"total": str(order.total)})
    return order


def _order_from_quote(*, client: Client, user: User | None, idempotency_key: str,
                      specs: list, promo: PromoCode | None, today: date, when: datetime
                      ) -> Order:
    """Price the operations and write the order with its priced items."""
    try:
        priced = quote(client=client, specs=specs, today=today, when=when, promo=promo)
    except ItemError as error:
        raise CheckoutError(str(error)) from error
    if priced.promo_error:
        raise CheckoutError(f"{priced.promo_error} Remove the promo code to pay without it.")
    order = Order.objects.create(
        client=client, currency=priced.currency, net=priced.net.amount, tax=priced.tax.amount,
        total=priced.total.amount, discount=priced.discount.amount, promo_code=priced.promo,
        idempotency_key=idempotency_key, created_by=user, quote=_snapshot(priced),
        created_at=when)
    for item, net, tax in zip(priced.items, priced.net_lines, priced.tax_lines, strict=True):
        spec = item.spec
        values = spec.values if spec.kind == ItemKind.CHANGE else {}
        OrderItem.objects.create(
            order=order, kind=spec.kind, service=spec.service, description=item.description,
            period=spec.period or spec.service.billing_period, period_start=item.period_start,
            period_end=item.period_end, new_plan=spec.new_plan,
            addon_values={str(k): {"quantity": str(v.quantity), "choice": v.choice_id}
                          for k, v in (values or {}).items()},
            net=net.amount, tax=tax.amount,
            discount=(item.discount or zero(priced.currency)).amount,
            cost_period_start=item.cost_period_start,
            cost_owed_numerator=item.cost_owed.numerator if item.cost_owed is not None else None,
            cost_owed_denominator=item.cost_owed.denominator
            if item.cost_owed is not None else None,
            cost_charged=item.cost_charged.amount if item.cost_charged is not None else None,
            derivation={**item.derivation, "tax": str(tax.amount), "base": str(
                item.base.amount)})
    return order


@transaction.atomic
def order_for_services(*, client: Client, specs: list, idempotency_key: str, today: date,
                       when: datetime, user: User | None = None) -> Order:
    """An order made without the cart (the billing clock's auto-renewals); the same key
    returns the same order."""
    existing = Order.objects.filter(client=client, idempotency_key=idempotency_key).first()
    if existing is not None:
        return existing
    return _order_from_quote(client=client, user=user, idempotency_key=idempotency_key,
                             specs=specs, promo=None, today=today, when=when)


def _snapshot(priced: Quote) -> dict:
    return {
        "items": [{"description": i.description, "base": str(i.base.amount),
                   "discount": str((i.discount or zero(priced.currency)).amount),
                   "net": str(net.amount), "tax": str(tax.amount)}
                  for i, net, tax in zip(priced.items, priced.net_lines, priced.tax_lines,
                                         strict=True)],
        "tax": {"code": priced.treatment.code, "rate": str(priced.treatment.rate),
                "name": priced.treatment.name, "note": priced.treatment.note},
        "company": priced.company.pk if priced.company else None,
    }


# Step 2: paying from the balance ------------------------------------------------------------------
@transaction.atomic
def order_pay_from_balance(*, order: Order, user: User | None, request=None,
                           paid_by: Payment | None = None, at: datetime | None = None
                           ) -> Order:
    """Complete a pending order from the personal account, if it covers the order.
    Raises InsufficientFunds (nothing changed) if not; a paid order is returned as is.

    ``paid_by`` is the payment whose capture is completing the order (its credit is on
    the balance already). A payment of the whole order by a method ("directly") pays it
    whatever the balance was before: the credit and this debit are one movement, and a
    debt on the balance does not eat it. ``at`` is the moment written (the clock's day
    for a renewal); a person paying now leaves it to the present.
    """
    client = order.client
    account = personal_account(client)
    account = lock_accounts(account)[account.pk]
    order = order_lock(order)
    if order.status == OrderStatus.PAID:
        return order
    order_must_wait_for_payment(order)
    if paid_by is None:
        under_way = open_payment_for(order.invoice_id)
        if under_way is not None:
            raise PaymentUnderWay(under_way)
    items = list(order.items.select_related("service__plan", "new_plan"))
    _renewals_still_due(order, items)
    debits = _charged(items)
    credits = [i for i in items if i.net < 0]
    # What the order takes from the balance is its total: the charged items less the
    # downgrade credits, which are posted first (all in this one transaction).
    due = order.total_money
    direct = paid_by is not None and paid_by.from_balance == 0 and paid_by.amount >= due.amount
    if not direct and due.amount > 0 and account.available.amount < due.amount:
        raise InsufficientFunds(account, due)
    for item in credits:
        _credit_downgrade(order, item, user, at)
    if debits:
        invoice = order_invoice(order, at=at)
        record, _created = charges_post(
            client=client, idempotency_key=f"order:{order.pk}", actor=user, invoice=invoice,
            description=f"Order #{order.pk}", charges=[_charge(order, i) for i in debits],
            counter=_counter_legs(order, debits), allow_overdraft=True,  # covered above
            at=at)
        invoice_mark_paid(invoice_id=invoice.pk, payment_transaction=record, now=at)
        order.invoice, order.transaction = invoice, record
    order.status = OrderStatus.PAID
    order.paid_at = at or timezone.now()
    order.save(update_fields=["status", "paid_at", "invoice", "transaction"])
    for item in items:
        _apply(item, user, at)
    log_action(actor=user, action="order.paid", obj=order, client=client, request=request,
               details={"total": str(order.total),
                        "payment": paid_by.pk if paid_by is not None else None})
    return order


def _renewals_still_due(order: Order, items: list[OrderItem]) -> None:
    """A renewal pays the period that follows the service's expiry when it was priced; if
    the expiry moved since (renewed another way: the clock, another order), paying it
    would pay a period twice. (The client's account is locked: the expiry is current.)"""
    for item in items:
        if item.kind not in (ItemKind.RENEWAL, ItemKind.AUTO_RENEW):
            continue
        expires_on = Service.objects.values_list("expires_on", flat=True).get(
            pk=item.service_id)
        if expires_on is not None and item.period_start != expires_on:
            raise CheckoutError(_("%(service)s was renewed meanwhile: it is paid until "
                                  "%(date)s. This order would pay that period again; "
                                  "cancel it.") % {"service": item.service.name,
                                                   "date": expires_on})


def order_lock(order: Order) -> Order:
    """The order re-read under its row lock (the client's account is locked first)."""
    return (Order.objects.select_for_update(of=("self",)).select_related("invoice")
            .get(pk=order.pk))


def order_must_wait_for_payment(order: Order) -> None:
    if order.status != OrderStatus.PENDING_PAYMENT:
        raise CheckoutError(_("Order #%(number)s is %(status)s.") % {
            "number": order.pk, "status": order.get_status_display().lower()})


def order_invoice(order: Order, *, at: datetime | None = None) -> Invoice:
    """The order's invoice: the one issued for it while it waits to be paid, else a new
    one (once, under the order's lock: one purchase, one invoice)."""
    if order.invoice is not None and order.invoice.status == InvoiceStatus.NEW:
        return order.invoice
    invoice = _invoice(order, _charged(order.items.select_related("service")), at)
    Order.objects.filter(pk=order.pk).update(invoice=invoice)
    order.invoice = invoice
    return invoice


def _charged(items) -> list[OrderItem]:
    """The items of an order that charge the client (its invoice's lines); the others are
    free or credit a downgrade."""
    return [item for item in items if item.gross > 0]


def _treatment(order: Order) -> TaxTreatment:
    tax = order.quote.get("tax", {})
    return TaxTreatment(tax.get("code", "none"), Decimal(tax.get("rate", "0")),
                        tax.get("name", ""), tax.get("note", ""))


def _company(order: Order) -> Company:
    return Company.objects.get(pk=order.quote["company"])


def _invoice(order: Order, items: list[OrderItem], at: datetime | None = None):
    def described(item: OrderItem) -> str:
        if not item.discount:
            return item.description
        return f"{item.description} (discount {format_money(Money(item.discount, order.currency))})"

    lines = [LineSpec(described(item), Money(item.net, order.currency), service=item.service,
                      period_start=item.period_start, period_end=item.period_end,
                      tax=Money(item.tax, order.currency))
             for item in items]
    invoice = invoice_issue(company=_company(order), client=order.client,
                            kind=InvoiceKind.SERVICES, lines=lines, treatment=_treatment(order),
                            now=at)
    return invoice


def _charge(order: Order, item: OrderItem) -> ChargeSpec:
    kind = CHARGE_KIND[item.kind]
    if item.kind == ItemKind.NEW and item.derivation.get("rule") == "daily":
        kind = ChargeKind.DAILY  # the first day: the clock will not charge it again
    return ChargeSpec(
        kind, item.description, Money(item.gross, order.currency),
        idempotency_key=f"order:{order.pk}:item:{item.pk}", service=item.service,
        period_start=item.period_start, period_end=item.period_end,
        derivation={**item.derivation, "order": order.pk},
        tax=Money(item.tax, order.currency), tax_rate=_treatment(order).rate)


def _counter_legs(order: Order, items: list[OrderItem]) -> list[Leg]:
    company = _company(order)
    currency = order.currency
    base = money_sum((Money(item.net + item.discount, currency) for item in items), currency)
    discount = money_sum((Money(item.discount, currency) for item in items), currency)
    tax = money_sum((Money(item.tax, currency) for item in items), currency)
    return [Leg(system_account(AccountKind.REVENUE, currency, company=company), base),
            Leg(system_account(AccountKind.DISCOUNTS, currency, company=company), -discount),
            Leg(system_account(AccountKind.TAX_PAYABLE, currency, company=company), tax)]


def _credit_downgrade(order: Order, item: OrderItem, user: User | None,
                      at: datetime | None = None) -> None:
    """A downgrade mid-period credits the unused difference to the balance, with a
    credit note against the invoice that charged the period: the note's net comes back
    from revenue and its tax from the taxes payable. With no invoice able to take the note
    (a period paid before invoices, or credited already), the credit stands on its own,
    all from revenue: the tax invoiced stays declared."""
    currency = order.currency
    amount = Money(-item.gross, currency)
    tax = Money(-item.tax, currency)
    company = _company(order)
    source = credit_source(item.service)
    documented = source is not None and amount <= (source.total_money
                                                   - credited_so_far(source))
    back = [Leg(system_account(AccountKind.REVENUE, currency, company=company),
                -(amount - tax) if documented else -amount)]
    if documented and tax.amount:
        back.append(Leg(system_account(AccountKind.TAX_PAYABLE, currency, company=company),
                        -tax))
    record, _ = ledger_post(
        kind=TransactionKind.REFUND, description=f"Downgrade credit: {item.description}",
        idempotency_key=f"order:{order.pk}:item:{item.pk}:credit", client=order.client,
        actor=user, details=item.derivation, at=at,
        legs=[Leg(personal_account(order.client), amount), *back])
    if documented:
        credit_note_issue(invoice=source, amount=amount,
                          reason=f"Downgrade of {item.service.name}",
                          ledger_transaction=record, tax=tax, now=at)


def _apply(item: OrderItem, user: User | None, at: datetime | None = None) -> None:
    service = Service.objects.select_related("plan").get(pk=item.service_id)
    if item.cost_period_start is not None:  # the paid period's cost, as data
        PeriodCost.objects.update_or_create(
            service=service, period_start=item.cost_period_start, defaults={
                "owed_numerator": item.cost_owed_numerator,
                "owed_denominator": item.cost_owed_denominator,
                "charged": item.cost_charged, "currency": item.order.currency})
    if item.kind == ItemKind.NEW:
        if item.period_end is not None:
            Service.objects.filter(pk=service.pk).update(
                expires_on=item.period_end, anchor_day=item.period_start.day)
        service_actions.service_start_after_payment(service=service, actor=user, now=at)
    elif item.kind in (ItemKind.RENEWAL, ItemKind.AUTO_RENEW):
        if item.kind == ItemKind.AUTO_RENEW:
            Service.objects.filter(pk=service.pk).update(auto_renew=True)
        service_actions.service_renew(service=service, new_expires_on=item.period_end,
                                      actor=user, now=at)
    elif item.kind == ItemKind.CHANGE:
        service_actions.service_apply_configuration(
            service=service, values=values_from_json(item.addon_values), plan=item.new_plan,
            actor=user, now=at)


def period_costs_record(costs: list[tuple[int, date, Fraction, Money]], *,
                        at: datetime) -> None:
    """What each of many paid periods costs (service id, period start, owed exactly,
    charged), as paying an order records it for one (``_apply``), in one statement: the
    billing clock's renewals from the balance."""
    with connection.cursor() as cursor:
        cursor.execute("""
            INSERT INTO cart_periodcost (service_id, period_start, owed_numerator,
                                         owed_denominator, charged, currency, updated_at)
            SELECT c.*, %s FROM unnest(%s::bigint[], %s::date[], %s::numeric[],
                                       %s::numeric[], %s::numeric[], %s::text[]) AS c
            ON CONFLICT (service_id, period_start) DO UPDATE SET
                owed_numerator = excluded.owed_numerator,
                owed_denominator = excluded.owed_denominator,
                charged = excluded.charged, currency = excluded.currency,
                updated_at = excluded.updated_at""", [
            at, [c[0] for c in costs], [c[1] for c in costs], [c[2].numerator for c in costs],
            [c[2].denominator for c in costs], [c[3].amount for c in costs],
            [str(c[3].currency) for c in costs]])


@transaction.atomic
def order_cancel(*, order: Order, user: User, request=None) -> Order:
    """Cancel a pending order: its new services are deleted, its promo use released."""
    order = order_lock(order)
    order_must_wait_for_payment(order)
    under_way = open_payment_for(order.invoice_id)
    if under_way is not None:
        raise PaymentUnderWay(under_way)
    order.status = OrderStatus.CANCELLED
    order.save(update_fields=["status"])
    if order.invoice is not None and order.invoice.status == InvoiceStatus.NEW:
        invoice_cancel(invoice=order.invoice,
                       reason=_("Order #%(number)s was cancelled.") % {"number": order.pk})
    for item in order.items.filter(kind=ItemKind.NEW).select_related("service"):
        if item.service.status == ServiceStatus.ORDERED:
            service_transition(service=item.service, to=ServiceStatus.DELETED, actor=user,
                               reason=f"Order #{order.pk} cancelled")
    redemption = PromoRedemption.objects.filter(order=order).first()
    if redemption is not None:
        PromoCode.objects.filter(pk=redemption.promo_id, uses__gt=0).update(uses=F("uses") - 1)
        redemption.delete()
    log_action(actor=user, action="order.cancelled", obj=order, client=order.client,
               request=request)
    return order
