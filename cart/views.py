"""Client area: the catalog, ordering a plan, the cart, paying, orders, and the service
operations that go through the cart (renewal, configuration change, auto-renewal)."""

from __future__ import annotations

import time

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.decorators import client_area
from accounts.models import Access
from accounts.rights import Area
from billing.ledger import personal_account
from cart import operations
from cart.checkout import CheckoutError, order_cancel, order_create
from cart.forms import ChangeForm, OrderForm, PayForm, PromoForm, RenewForm
from cart.models import CartItem, ItemKind, Order, OrderStatus, PromoCode
from cart.order_payments import CheckoutResult, order_pay
from cart.pricing import ItemError, ItemSpec, promo_problem, quote
from payments.models import Payment, PaymentStatus
from payments.processing import open_payment_for, payment_continue_url
from services.models import Service, TariffPlan
from services.selectors import service_get


def _client(request):
    return request.client_context.client


def _apply_errors(form, error: ValidationError) -> None:
    for field, errors in error.message_dict.items():
        form.add_error(field if field in form.fields else None, errors)


# Catalog and ordering ------------------------------------------------------------------------
def _orderable(client):
    return (TariffPlan.objects.filter(provider=client.provider, orderable=True,
                                      is_archived=False)
            .select_related("group").prefetch_related("prices").order_by("product_type",
                                                                         "position", "name"))


@client_area(Area.SERVICES)
def catalog(request):
    plans = list(_orderable(_client(request)))
    return render(request, "cart/catalog.html", {"plans": plans})


@client_area(Area.SERVICES, Access.MANAGE)
def order_plan(request, plan_id: int):
    client = _client(request)
    plan = get_object_or_404(TariffPlan.objects.prefetch_related("prices"), pk=plan_id,
                             provider=client.provider)
    if not plan.is_orderable:
        messages.error(request, f"{plan.name} can no longer be ordered.")
        return redirect("cart:catalog")
    missing = operations.agreements_missing(client, [plan])
    form = OrderForm(request.POST or None, plan=plan, missing_agreements=missing)
    if request.htmx and request.method == "POST" and "preview" in request.POST:
        return render(request, "cart/partials/_price.html", _preview(client, plan, form))
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                operations.agreements_accept(client=client, agreements=missing,
                                             user=request.user, request=request)
                result = operations.cart_add_new(
                    client=client, today=timezone.localdate(), plan=plan,
                    period=form.cleaned_data["period"],
                    raw_values=form.raw_values(), parameters=form.parameters(),
                    user=request.user, request=request)
        except ValidationError as error:
            _apply_errors(form, error)
        except ItemError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, f"{result.item.service.name} is in your cart.")
            return redirect("cart:cart")
    context = {"plan": plan, "form": form, **_preview(client, plan, form)}
    return render(request, "cart/order_plan.html", context)


def _preview(client, plan, form) -> dict:
    problem = form.pricing_problem()
    if problem:
        return {"quote": None, "price_error": problem}
    period = (form.cleaned_data.get("period") if form.is_bound else None) or (
        form.fields["period"].choices[0][0] if form.fields["period"].choices else "")
    try:
        values = operations.clean_addon_values(plan, form.raw_values() if form.is_bound else {})
        priced = quote(client=client, today=timezone.localdate(), when=timezone.now(),
                       specs=[ItemSpec(
            ItemKind.NEW, plan=plan, period=period, values=values)])
    except (ValidationError, ItemError) as error:
        return {"quote": None, "price_error": "; ".join(
            getattr(error, "messages", [str(error)]))}
    return {"quote": priced, "price_error": ""}


# The cart --------------------------------------------------------------------------------------
@client_area(Area.SERVICES)
def cart_view(request):
    client = _client(request)
    cart = operations.cart_for(client)
    notices = list(cart.notices.all())
    cart.notices.all().delete()
    items = list(cart.items.select_related("service__plan", "new_plan"))
    priced, problem = None, ""
    if items:
        try:
            priced = quote(client=client, specs=[operations.item_spec(i) for i in items],
                           when=timezone.now(),
                           today=timezone.localdate(), promo=cart.promo_code)
        except ItemError as error:
            problem = str(error)
    account = personal_account(client)
    missing = operations.agreements_missing(client, {i.service.plan for i in items})
    pay_form = PayForm(client=client, available=account.available,
                       total=priced.total) if priced is not None else None
    return render(request, "cart/cart.html", {
        "cart": cart, "items": items, "quote": priced, "problem": problem, "notices": notices,
        "account": account, "agreements": missing, "pay_form": pay_form,
        "promo_form": PromoForm(), "can_pay": _can_pay(request),
    })


def _can_pay(request) -> bool:
    """Paying takes both rights: buying services and spending the account's money."""
    context = request.client_context
    return context.can(Area.FINANCES, Access.MANAGE) and context.can(Area.SERVICES,
                                                                       Access.MANAGE)


@require_POST
@client_area(Area.SERVICES, Access.MANAGE)
def cart_remove(request, item_id: int):
    try:
        operations.cart_remove(client=_client(request), item_id=item_id, user=request.user,
                               request=request)
    except CartItem.DoesNotExist as missing:
        raise Http404(_("This item is not in your cart.")) from missing
    return redirect("cart:cart")


@require_POST
@client_area(Area.SERVICES, Access.MANAGE)
def promo_apply(request):
    client = _client(request)
    cart = operations.cart_for(client)
    if request.POST.get("remove"):
        cart.promo_code = None
        cart.save(update_fields=["promo_code", "updated_at"])
        return redirect("cart:cart")
    form = PromoForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
        return redirect("cart:cart")
    code = form.cleaned_data["code"]
    promo = PromoCode.objects.filter(code__iexact=code).first()
    problem = _("There is no such promo code.") if promo is None else promo_problem(
        promo, client, timezone.now())
    if problem:
        messages.error(request, problem)
    else:
        cart.promo_code = promo
        cart.save(update_fields=["promo_code", "updated_at"])
        messages.success(request, f"Promo code {promo.code} is applied.")
    return redirect("cart:cart")


@require_POST
@client_area(Area.FINANCES, Access.MANAGE)
def checkout(request):
    return _checkout(request, item_ids=None)


def _checkout(request, *, item_ids):
    client = _client(request)
    if not request.client_context.can(Area.SERVICES, Access.MANAGE):
        raise Http404
    form = PayForm(request.POST, client=client, available=personal_account(client).available)
    if not form.is_valid():
        messages.error(request, form.problem())
        return redirect("cart:cart")
    try:
        with transaction.atomic():
            missing = operations.agreements_missing(
                client, {i.service.plan for i in operations.cart_for(client).items.all()})
            if missing and request.POST.get("accept_agreements"):
                operations.agreements_accept(client=client, agreements=missing,
                                             user=request.user, request=request)
            order = order_create(client=client, user=request.user, item_ids=item_ids,
                                 now=timezone.now(),
                                 idempotency_key=form.cleaned_data["idempotency_key"],
                                 request=request)
    except CheckoutError as error:
        messages.error(request, str(error))
        return redirect("cart:cart")
    try:
        result = _pay(request, order, form)
    except CheckoutError as error:  # the order stands, waiting: say so where it is
        messages.error(request, _("Order #%(number)s waits for payment. %(why)s") % {
            "number": order.pk, "why": error})
        return redirect("cart:order", pk=order.pk)
    return _after_pay(request, result)


def _pay(request, order: Order, form: PayForm) -> CheckoutResult:
    def back(payment):
        return request.build_absolute_uri(reverse("payments:return",
                                                  args=[payment.pk, payment.return_token]))

    result = order_pay(order=order, user=request.user, choice=form.choice(),
                       idempotency_key=form.cleaned_data["idempotency_key"],
                       return_url_for=back, request=request)
    under_way = result.under_way
    if under_way is not None and under_way.saved_method_id \
            and under_way.status == PaymentStatus.NEW:
        result = _wait_for_card(result)
    return result


def _wait_for_card(result: CheckoutResult) -> CheckoutResult:
    """Another request (a second tab, a double click) is charging the saved card for this
    order right now: its answer comes within seconds, so wait for it rather than show a
    payment in flight. (An Unknown answer is left to the resolver: no waiting for it.)"""
    deadline = time.monotonic() + 10
    payment = result.under_way
    while payment.status == PaymentStatus.NEW and time.monotonic() < deadline:
        time.sleep(0.2)
        payment = Payment.objects.get(pk=payment.pk)
    order = Order.objects.get(pk=result.order.pk)
    if order.status == OrderStatus.PAID:
        return CheckoutResult(order, message=_("The order is paid."))
    return CheckoutResult(order, under_way=payment, message=result.message)


def _after_pay(request, result: CheckoutResult):
    if result.redirect_url:
        return redirect(result.redirect_url)
    if result.message:
        level = messages.success if result.order.status == OrderStatus.PAID else messages.info
        level(request, result.message)
    return redirect("cart:order", pk=result.order.pk)


# Orders ------------------------------------------------------------------------------------------
@client_area(Area.SERVICES)
def orders(request):
    client = _client(request)
    all_orders = (Order.objects.filter(client=client).prefetch_related(
        "items__service__plan").select_related("invoice").order_by("-created_at"))
    return render(request, "cart/orders.html", {
        "pending": [o for o in all_orders if o.status == OrderStatus.PENDING_PAYMENT],
        "paid": [o for o in all_orders if o.status == OrderStatus.PAID],
    })


def _order_get(request, pk: int) -> Order:
    return get_object_or_404(Order.objects.select_related("invoice", "payment"), pk=pk,
                             client=_client(request))


@client_area(Area.SERVICES)
def order_detail(request, pk: int):
    order = _order_get(request, pk)
    context = {"order": order, "items": order.items.select_related("service__plan"),
               "can_pay": request.client_context.can(Area.FINANCES, Access.MANAGE),
               "can_cancel": request.client_context.can(Area.SERVICES, Access.MANAGE)}
    if order.status == OrderStatus.PENDING_PAYMENT:
        under_way = open_payment_for(order.invoice_id)
        account = personal_account(order.client)
        context |= {"under_way": under_way, "account": account,
                    "continue_url": payment_continue_url(under_way) if under_way else ""}
        if under_way is None:
            context["pay_form"] = PayForm(client=order.client, available=account.available,
                                          total=order.total_money)
    return render(request, "cart/order.html", context)


@require_POST
@client_area(Area.FINANCES, Access.MANAGE)
def order_pay_view(request, pk: int):
    order = _order_get(request, pk)
    form = PayForm(request.POST, client=order.client,
                   available=personal_account(order.client).available)
    if not form.is_valid():
        messages.error(request, form.problem())
        return redirect("cart:order", pk=pk)
    try:
        result = _pay(request, order, form)
    except CheckoutError as error:
        messages.error(request, str(error))
        return redirect("cart:order", pk=pk)
    return _after_pay(request, result)


@require_POST
@client_area(Area.SERVICES, Access.MANAGE)
def order_cancel_view(request, pk: int):
    try:
        order_cancel(order=_order_get(request, pk), user=request.user, request=request)
    except CheckoutError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, "The order was cancelled.")
    return redirect("cart:orders")


# Operations on a service -------------------------------------------------------------------------
def _service(request, pk: int) -> Service:
    return service_get(client=_client(request), pk=pk)


@client_area(Area.SERVICES, Access.MANAGE)
def renew(request, service_id: int):
    service = _service(request, service_id)
    if service.plan.is_daily:
        messages.error(request, "Services that are charged daily cannot be renewed. Charges "
                                "for them are deducted from the personal account.")
        return redirect("services:detail", pk=service.pk)
    form = RenewForm(request.POST or None, service=service)
    if request.method == "POST" and form.is_valid():
        try:
            result = operations.cart_add_renewal(client=_client(request),
                                                 today=timezone.localdate(), service=service,
                                                 period=form.cleaned_data["period"],
                                                 user=request.user, request=request)
        except ItemError as error:
            form.add_error(None, str(error))
        else:
            _tell_replaced(request, result)
            return redirect("cart:cart")
    return render(request, "cart/renew.html", {"service": service, "form": form})


@require_POST
@client_area(Area.SERVICES, Access.MANAGE)
def auto_renew(request, service_id: int):
    service = _service(request, service_id)
    try:
        result = operations.cart_add_auto_renew(client=_client(request),
                                                today=timezone.localdate(), service=service,
                                                user=request.user, request=request)
    except ItemError as error:
        messages.error(request, str(error))
        return redirect("services:detail", pk=service_id)
    _tell_replaced(request, result)
    return redirect("cart:cart")


@client_area(Area.SERVICES, Access.MANAGE)
def change(request, service_id: int):
    client = _client(request)
    service = _service(request, service_id)
    plans = [service.plan, *_orderable(client).filter(
        product_type=service.plan.product_type, charging=service.plan.charging).exclude(
        pk=service.plan_id)]
    form = ChangeForm(request.POST or None, service=service, plans=plans)
    plan = form.chosen_plan(plans)
    if request.method == "POST" and "preview" not in request.POST and form.is_valid():
        try:
            result = operations.cart_add_change(
                client=client, today=timezone.localdate(), service=service,
                raw_values=form.raw_values(),
                new_plan=plan if plan.pk != service.plan_id else None, user=request.user,
                request=request)
        except ValidationError as error:
            _apply_errors(form, error)
        except ItemError as error:
            form.add_error(None, str(error))
        else:
            _tell_replaced(request, result)
            if "pay_changes" in request.POST:
                return redirect("cart:pay_item", item_id=result.item.pk)
            return redirect("cart:cart")
    context = {"service": service, "form": form, **_change_preview(client, service, plan, form)}
    if request.htmx and "preview" in request.POST:
        return render(request, "cart/partials/_price.html", context)
    return render(request, "cart/change.html", context)


def _change_preview(client, service, plan, form) -> dict:
    if not form.is_bound:
        return {"quote": None, "price_error": ""}
    problem = form.pricing_problem()
    if problem:
        return {"quote": None, "price_error": problem}
    try:
        values = operations.clean_addon_values(plan, form.raw_values())
        priced = quote(client=client, today=timezone.localdate(), when=timezone.now(),
                       specs=[ItemSpec(
            ItemKind.CHANGE, service, values=values,
            new_plan=plan if plan.pk != service.plan_id else None)])
    except (ValidationError, ItemError) as error:
        return {"quote": None, "price_error": "; ".join(
            getattr(error, "messages", [str(error)]))}
    return {"quote": priced, "price_error": ""}


@client_area(Area.FINANCES, Access.MANAGE)
def pay_item(request, item_id: int):
    """'Pay for changes': one operation from the cart, paid on its own."""
    client = _client(request)
    item = get_object_or_404(CartItem.objects.select_related("service__plan", "cart"),
                             pk=item_id, cart__client=client)
    if request.method == "POST":
        return _checkout(request, item_ids=[item.pk])
    priced = quote(client=client, specs=[operations.item_spec(item)], when=timezone.now(),
                   today=timezone.localdate())
    account = personal_account(client)
    return render(request, "cart/pay_item.html", {
        "item": item, "quote": priced, "account": account, "can_pay": _can_pay(request),
        "pay_form": PayForm(client=client, available=account.available, total=priced.total)})


def _tell_replaced(request, result) -> None:
    for replaced in result.replaced:
        messages.warning(request, f"The cart holds one operation per service: “{replaced}” "
                                  "was replaced.")
    messages.success(request, f"{result.item} is in your cart.")
