"""The client's chosen way to pay is honoured: the personal account, a method for the
whole amount, or the balance first and a method for the rest, stated before confirming."""

import re
from decimal import Decimal

import pytest

from billing.ledger import personal_account
from billing.models import Invoice, InvoiceKind, InvoiceStatus
from cart.models import Order, OrderStatus
from payments.models import Payment, PaymentStatus, SandboxTransaction, SavedPaymentMethod
from tests.cart.helpers import order_vps, pay
from tests.factories.billing import top_up
from tests.payments.helpers import decide

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("books_balance")]


@pytest.fixture
def saved_card(owner, sandbox_method):
    return SavedPaymentMethod.objects.create(
        client=owner.client, method=sandbox_method, token="sbx_card_test4242",
        label="Sandbox card •••• 4242", is_default=True)


def _pending_order(owner_client, vps_plan):
    """An order of 20.00 left pending (the client walked away from the gateway page)."""
    order_vps(owner_client, vps_plan, disk="40")
    owner_client.post("/cart/checkout/", {"pay_with": "balance", "idempotency_key": "first"})
    order = Order.objects.get()
    assert order.status == OrderStatus.PENDING_PAYMENT
    return order


def test_a_pending_order_paid_with_a_saved_card_is_paid_and_the_card_charged_once(
        owner_client, owner, vps_plan, saved_card):
    top_up(owner.client, "5.00")
    order = _pending_order(owner_client, vps_plan)

    response = owner_client.post(f"/orders/{order.pk}/pay/", {
        "pay_with": f"saved:{saved_card.pk}", "idempotency_key": "tab-1"}, follow=True)

    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    charges = SandboxTransaction.objects.all()
    assert [(c.amount, c.status) for c in charges] == [(Decimal("20.00"), "succeeded")]
    assert personal_account(owner.client).balance == Decimal("5.00")  # the card paid it all
    assert "not charged" not in response.content.decode()
    payment = Payment.objects.get()
    assert payment.invoice_id == order.invoice_id  # one purchase, one invoice
    assert Invoice.objects.filter(client=owner.client).count() == 1
    assert order.invoice.status == InvoiceStatus.PAID


def test_a_card_chosen_while_the_balance_covers_pays_by_card_and_leaves_the_balance(
        owner_client, owner, vps_plan, sandbox_method):
    top_up(owner.client, "100.00")
    order_vps(owner_client, vps_plan, disk="40")

    started = pay(owner_client, pay_with=f"method:{sandbox_method.pk}")

    assert "/payments/sandbox/" in started["Location"]
    order = Order.objects.get()
    assert order.status == OrderStatus.PENDING_PAYMENT
    assert personal_account(owner.client).balance == Decimal("100.00")
    sandbox = decide(owner_client, started, "approve")
    assert sandbox.amount == Decimal("20.00")
    owner_client.get(sandbox.return_url)

    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert personal_account(owner.client).balance == Decimal("100.00")
    assert list(Invoice.objects.values_list("kind", "status")) == [
        (InvoiceKind.SERVICES, InvoiceStatus.PAID)]
    assert Payment.objects.get().invoice_id == order.invoice_id


def test_bank_transfer_chosen_while_the_balance_covers_waits_for_the_transfer(
        owner_client, owner, vps_plan, company):
    from tests.factories.payments import PaymentMethodFactory

    bank = PaymentMethodFactory(company=company, gateway="bank_transfer", name="Bank")
    top_up(owner.client, "100.00")
    order_vps(owner_client, vps_plan, disk="40")

    pay(owner_client, pay_with=f"method:{bank.pk}")

    order = Order.objects.get()
    assert order.status == OrderStatus.PENDING_PAYMENT
    assert personal_account(owner.client).balance == Decimal("100.00")
    payment = Payment.objects.get()
    assert (payment.amount, payment.status) == (Decimal("20.00"), PaymentStatus.PENDING)
    assert payment.invoice_id == order.invoice_id


def test_combining_states_both_parts_and_charges_the_card_only_the_rest(
        owner_client, owner, vps_plan, sandbox_method):
    top_up(owner.client, "13.00")
    order_vps(owner_client, vps_plan, disk="40")

    page = owner_client.get("/cart/").content.decode()
    assert "13.00 USD from your personal account" in page
    assert "7.00 USD by " + sandbox_method.name in page

    started = pay(owner_client, pay_with=f"method:{sandbox_method.pk}", use_balance="1")
    sandbox = decide(owner_client, started, "approve")
    assert sandbox.amount == Decimal("7.00")
    owner_client.get(sandbox.return_url)

    order = Order.objects.get()
    assert order.status == OrderStatus.PAID
    assert personal_account(owner.client).balance == Decimal("0.00")
    assert Invoice.objects.count() == 1
    payment = Payment.objects.get()
    assert (payment.amount, payment.from_balance) == (Decimal("7.00"), Decimal("13.00"))


def test_the_button_says_what_the_gateway_will_charge(owner_client, owner, vps_plan,
                                                      sandbox_method):
    top_up(owner.client, "13.00")
    order_vps(owner_client, vps_plan, disk="40")

    page = owner_client.get("/cart/").content.decode()

    buttons = re.findall(r'data-button(?:-combined)?="([^"]+)"', page)
    assert "Pay 20.00 USD" in buttons  # the card for the whole amount
    assert "Pay 7.00 USD" in buttons  # the card for what the balance leaves


def test_pay_for_changes_by_card_leaves_the_balance_alone(owner_client, owner, vps_plan,
                                                          sandbox_method):
    from datetime import date, timedelta

    from services.models import ServiceAddon
    from tests.factories.services import ServiceFactory

    expires = date.today() + timedelta(days=20)
    service = ServiceFactory(client=owner.client, plan=vps_plan, expires_on=expires,
                             anchor_day=expires.day)
    ServiceAddon.objects.create(service=service, addon=vps_plan.disk, quantity=Decimal(20))
    top_up(owner.client, "100.00")
    response = owner_client.post(f"/cart/services/{service.pk}/change/", {
        "plan": vps_plan.pk, f"addon_{vps_plan.disk.pk}": "100", "pay_changes": "1"})

    started = owner_client.post(response["Location"], {
        "pay_with": f"method:{sandbox_method.pk}", "idempotency_key": "change-1"})

    assert "/payments/sandbox/" in started["Location"]
    assert personal_account(owner.client).balance == Decimal("100.00")


def test_a_second_tab_goes_on_with_the_same_gateway_page(owner_client, owner, vps_plan,
                                                          sandbox_method):
    order = _pending_order(owner_client, vps_plan)
    data = {"pay_with": f"method:{sandbox_method.pk}"}

    first = owner_client.post(f"/orders/{order.pk}/pay/", {**data, "idempotency_key": "tab-1"})
    second = owner_client.post(f"/orders/{order.pk}/pay/", {**data, "idempotency_key": "tab-2"})

    assert first["Location"] == second["Location"]
    assert "/payments/sandbox/" in first["Location"]
    assert SandboxTransaction.objects.count() == 1
    assert Payment.objects.count() == 1
    page = owner_client.get(f"/orders/{order.pk}/").content.decode()
    assert "is under way" in page
    assert "Go on with the payment" in page


def test_an_order_with_a_payment_under_way_is_cancelled_after_the_payment(
        owner_client, owner, vps_plan, sandbox_method):
    order = _pending_order(owner_client, vps_plan)
    owner_client.post(f"/orders/{order.pk}/pay/", {"pay_with": f"method:{sandbox_method.pk}",
                                                  "idempotency_key": "tab-1"})

    refused = owner_client.post(f"/orders/{order.pk}/cancel/", follow=True)
    assert "is under way" in refused.content.decode()
    assert Order.objects.get().status == OrderStatus.PENDING_PAYMENT

    payment = Payment.objects.get()
    owner_client.post(f"/payments/{payment.pk}/cancel/")
    owner_client.post(f"/orders/{order.pk}/cancel/")

    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
    assert order.invoice.status == InvoiceStatus.CANCELLED
    assert order.invoice.status_note == f"Order #{order.pk} was cancelled."


def test_a_declined_saved_card_says_so_and_charges_nothing(owner_client, owner, vps_plan,
                                                          sandbox_method):
    declining = SavedPaymentMethod.objects.create(
        client=owner.client, method=sandbox_method, token="sbx_card_declines",
        label="Declining card")
    order = _pending_order(owner_client, vps_plan)

    page = owner_client.post(f"/orders/{order.pk}/pay/", {
        "pay_with": f"saved:{declining.pk}", "idempotency_key": "k"}, follow=True)

    assert "Declining card was not charged: Card declined" in page.content.decode()
    assert Order.objects.get().status == OrderStatus.PENDING_PAYMENT
    assert personal_account(owner.client).balance == 0


def test_a_cancelled_payment_cannot_be_taken_by_its_forgotten_gateway_page(
        owner_client, owner, vps_plan, sandbox_method):
    order = _pending_order(owner_client, vps_plan)
    started = owner_client.post(f"/orders/{order.pk}/pay/", {
        "pay_with": f"method:{sandbox_method.pk}", "idempotency_key": "card"})
    payment = Payment.objects.get()
    owner_client.post(f"/payments/{payment.pk}/cancel/")
    top_up(owner.client, "20.00")
    owner_client.post(f"/orders/{order.pk}/pay/", {"pay_with": "balance",
                                                  "idempotency_key": "balance"})
    assert Order.objects.get().status == OrderStatus.PAID

    # The client finds the forgotten gateway page and presses Approve after all.
    sandbox = decide(owner_client, started, "approve")
    owner_client.get(sandbox.return_url)

    assert sandbox.status == SandboxTransaction.Status.FAILED  # voided: nothing taken
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.FAILED
    assert personal_account(owner.client).balance == Decimal("0.00")


def test_a_transfer_that_arrives_for_an_order_paid_meanwhile_stays_on_the_balance(
        owner_client, owner, vps_plan, company):
    from payments.processing import staff_confirm_receipt
    from tests.factories.accounts import StaffFactory
    from tests.factories.payments import PaymentMethodFactory

    bank = PaymentMethodFactory(company=company, gateway="bank_transfer", name="Bank",
                                minimum=Decimal("1.00"))
    order = _pending_order(owner_client, vps_plan)
    owner_client.post(f"/orders/{order.pk}/pay/", {"pay_with": f"method:{bank.pk}",
                                                  "idempotency_key": "bank"})
    payment = Payment.objects.get()
    owner_client.post(f"/payments/{payment.pk}/cancel/")
    top_up(owner.client, "20.00")
    owner_client.post(f"/orders/{order.pk}/pay/", {"pay_with": "balance",
                                                  "idempotency_key": "balance"})

    staff_confirm_receipt(payment=payment, actor=StaffFactory())  # it was sent after all

    payment.refresh_from_db()
    assert (payment.status, payment.outcome) == (PaymentStatus.SUCCEEDED, "on_balance")
    assert f"Order #{order.pk} was already paid" in payment.outcome_note
    assert personal_account(owner.client).balance == Decimal("20.00")
    page = owner_client.get(f"/payments/{payment.pk}/").content.decode()
    assert "20.00 USD is on your balance" in page


def test_paying_directly_pays_the_order_even_with_a_debt_on_the_balance(
        owner_client, owner, vps_plan, saved_card):
    from tests.factories.billing import set_credit_limit

    order = _pending_order(owner_client, vps_plan)
    set_credit_limit(owner.client, "50.00")
    debit_client(owner.client, "30.00")  # the balance is -30.00, inside the credit limit

    owner_client.post(f"/orders/{order.pk}/pay/", {"pay_with": f"saved:{saved_card.pk}",
                                                  "idempotency_key": "k"})

    assert Order.objects.get().status == OrderStatus.PAID
    assert personal_account(owner.client).balance == Decimal("-30.00")


def test_a_fee_is_stated_and_on_the_button(owner_client, owner, vps_plan, company):
    from tests.factories.payments import PaymentMethodFactory

    PaymentMethodFactory(company=company, name="Card with fee", fee_percent=Decimal("3"),
                         minimum=Decimal("1.00"))
    order_vps(owner_client, vps_plan, disk="40")

    page = owner_client.get("/cart/").content.decode()

    assert "20.00 USD by Card with fee (+ 0.60 USD fee)" in page
    assert 'data-button="Pay 20.60 USD"' in page


def debit_client(client, amount):
    from djmoney.money import Money

    from billing.charges import ChargeSpec, charge_post
    from billing.ledger import system_account
    from billing.models import AccountKind, ChargeKind

    charge_post(client=client, counter=system_account(AccountKind.REVENUE, "USD"),
                allow_overdraft=True, spec=ChargeSpec(
                    ChargeKind.MANUAL, "Earlier debt", Money(amount, "USD"),
                    idempotency_key=f"debt-{client.pk}"))


def test_another_way_chosen_while_a_payment_is_under_way_is_told_not_redirected(
        owner_client, owner, vps_plan, sandbox_method):
    order = _pending_order(owner_client, vps_plan)
    owner_client.post(f"/orders/{order.pk}/pay/", {"pay_with": f"method:{sandbox_method.pk}",
                                                  "idempotency_key": "tab-1"})
    top_up(owner.client, "50.00")

    response = owner_client.post(f"/orders/{order.pk}/pay/", {
        "pay_with": "balance", "idempotency_key": "tab-2"}, follow=True)

    assert response.redirect_chain[-1][0] == f"/orders/{order.pk}/"
    assert "by Method" in response.content.decode()
    assert "is under way: go on with it, or cancel it" in response.content.decode()
    assert Order.objects.get().status == OrderStatus.PENDING_PAYMENT
    assert personal_account(owner.client).balance == Decimal("50.00")


def test_an_order_with_a_downgrade_credit_is_paid_by_card_for_its_total(
        owner_client, owner, vps_plan, saved_card):
    """A downgrade's credit and a new service in one order: the card pays the order's
    total, and the order is paid (the credit is posted before the charges)."""
    from services.models import ServiceStatus
    from services.operations import operation_run
    from tests.factories.billing import top_up as credit

    credit(owner.client, "30.00")
    order_vps(owner_client, vps_plan, disk="60", hostname="old.example.com")  # 30.00
    pay(owner_client)
    service = Order.objects.get().items.get().service
    operation_run(service.operations.get().pk)
    service.refresh_from_db()
    assert service.status == ServiceStatus.ACTIVE
    owner_client.post(f"/cart/services/{service.pk}/change/", {
        "plan": vps_plan.pk, f"addon_{vps_plan.disk.pk}": "20", "go_to_cart": "1"})
    order_vps(owner_client, vps_plan, disk="80", hostname="new.example.com")  # 40.00

    response = pay(owner_client, pay_with=f"saved:{saved_card.pk}")

    order = Order.objects.latest("pk")
    assert response["Location"] == f"/orders/{order.pk}/"
    assert order.status == OrderStatus.PAID
    charged = SandboxTransaction.objects.get()
    assert charged.amount == order.total < Decimal("40.00")  # less the downgrade's credit
    assert personal_account(owner.client).balance == Decimal("0.00")


def test_a_balance_that_moved_since_the_page_was_shown_is_not_silently_re_split(
        owner_client, owner, vps_plan, saved_card):
    top_up(owner.client, "13.00")
    order_vps(owner_client, vps_plan, disk="40")
    page = owner_client.get("/cart/").content.decode()
    seen = re.search(r'name="balance_seen" value="([^"]+)"', page).group(1)
    top_up(owner.client, "5.00")  # another tab added funds meanwhile

    response = pay(owner_client, pay_with=f"saved:{saved_card.pk}", use_balance="1",
                   balance_seen=seen)

    order = Order.objects.get()
    assert response["Location"] == f"/orders/{order.pk}/"
    page = owner_client.get(response["Location"]).content.decode()
    assert "Your balance changed since the page was shown" in page
    assert order.status == OrderStatus.PENDING_PAYMENT
    assert not SandboxTransaction.objects.exists()


def test_the_balance_part_is_held_while_the_card_part_is_paid(owner_client, owner, vps_plan,
                                                              sandbox_method):
    from billing.models import AccountHold

    top_up(owner.client, "13.00")
    order_vps(owner_client, vps_plan, disk="40")
    started = pay(owner_client, pay_with=f"method:{sandbox_method.pk}", use_balance="1")

    account = personal_account(owner.client)
    assert (account.balance, account.held) == (Decimal("13.00"), Decimal("13.00"))
    # Something else tries to spend the held part meanwhile: refused.
    from djmoney.money import Money

    from billing.charges import ChargeSpec, charge_post
    from billing.ledger import InsufficientFunds, system_account
    from billing.models import AccountKind, ChargeKind

    with pytest.raises(InsufficientFunds):
        charge_post(client=owner.client, counter=system_account(AccountKind.REVENUE, "USD"),
                    spec=ChargeSpec(ChargeKind.MANUAL, "Elsewhere", Money("5.00", "USD"),
                                    idempotency_key="elsewhere"))

    owner_client.get(decide(owner_client, started, "approve").return_url)

    account.refresh_from_db()
    assert (account.balance, account.held) == (Decimal("0.00"), Decimal("0.00"))
    assert Order.objects.get().status == OrderStatus.PAID
    assert AccountHold.objects.get().released_at is not None


def test_the_same_form_after_its_payment_failed_asks_to_choose_again(
        owner_client, owner, vps_plan, sandbox_method):
    declining = SavedPaymentMethod.objects.create(
        client=owner.client, method=sandbox_method, token="sbx_card_declines",
        label="Declining card")
    order = _pending_order(owner_client, vps_plan)
    owner_client.post(f"/orders/{order.pk}/pay/", {"pay_with": f"saved:{declining.pk}",
                                                  "idempotency_key": "same"})

    again = owner_client.post(f"/orders/{order.pk}/pay/", {
        "pay_with": f"method:{sandbox_method.pk}", "idempotency_key": "same"}, follow=True)

    assert "This form was already sent, and its payment has ended" in again.content.decode()
    assert Payment.objects.count() == 1


def test_a_colleague_without_finance_rights_sees_no_pay_form(client, owner, vps_plan,
                                                            owner_client):
    from tests.factories.accounts import ClientUserFactory

    order = _pending_order(owner_client, vps_plan)
    colleague = ClientUserFactory(client=owner.client)  # services read, no finances
    client.force_login(colleague.user)

    page = client.get(f"/orders/{order.pk}/").content.decode()

    assert "data-pay-form" not in page
    assert "Paying needs the right to manage finances" in page


def test_a_method_whose_limits_refuse_the_amount_says_why_and_charges_nothing(
        owner_client, owner, vps_plan, company):
    from tests.factories.payments import PaymentMethodFactory

    bank = PaymentMethodFactory(company=company, gateway="bank_transfer", name="Bank",
                                minimum=Decimal("50.00"))
    order_vps(owner_client, vps_plan, disk="40")  # 20.00

    page = owner_client.get("/cart/").content.decode()
    option = re.search(rf'<input type="radio" name="pay_with" value="method:{bank.pk}"[^>]*>',
                       page).group(0)
    assert " disabled" in option
    assert "The smallest payment by Bank is 50.00 USD" in page

    response = pay(owner_client, pay_with=f"method:{bank.pk}")

    page = owner_client.get(response["Location"]).content.decode()
    assert "The smallest payment by Bank is 50.00 USD" in page
    assert not Payment.objects.exists()
