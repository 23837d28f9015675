"""The interface every payment gateway implements.

A gateway turns our Payment into the gateway's own objects and back. It never changes
our records itself: it reports what the gateway says (a ``GatewayResult``), and
``payments.processing`` applies that through the payment's state machine, so a report
that arrives twice, late or out of order changes nothing it should not.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

from payments.models import PaymentStatus

if TYPE_CHECKING:
    from djmoney.money import Money

    from payments.models import Payment, PaymentMethod, Refund, SavedPaymentMethod


class GatewayError(Exception):
    """The gateway refused or failed; the message is fit for staff and clients."""


class WebhookRejected(Exception):
    """A webhook that is not authentic or not readable; answered with 400."""


@dataclass(frozen=True)
class SavedToken:
    token: str
    label: str
    customer_reference: str = ""
    expires: str = ""


@dataclass(frozen=True)
class GatewayResult:
    status: str | None = None  # a PaymentStatus, or None when nothing is known yet
    reference: str = ""
    redirect_url: str = ""
    message: str = ""
    saved: SavedToken | None = None


@dataclass(frozen=True)
class RefundResult:
    """What the gateway says of a refund: ``succeeded`` (the money is on its way back),
    ``pending`` (accepted, confirmed later), ``failed`` (refused for good) or ``unknown``
    (no answer: ask again with the same idempotency key)."""

    status: str
    reference: str = ""
    message: str = ""


@dataclass(frozen=True)
class WebhookEvent:
    event_id: str
    event_type: str
    reference: str  # the gateway's id of the payment
    result: GatewayResult | None
    payload: dict = field(default_factory=dict)
    payment_id: int | None = None  # our payment's id, when the gateway echoes it back


class PaymentGateway:
    code = "base"
    supports_saved_methods = False
    supports_webhooks = False
    supports_refunds = False
    # Below the method's minimum, a purchase is paid at the minimum and the rest stays on
    # the balance (a card: the client never types the amount). A gateway where the client
    # pays the invoice's own figure (a bank transfer) cannot: the purchase is refused.
    minimum_tops_up = True
    # How long a refund may wait for the gateway's confirmation before the audit asks
    # why (gateways that confirm later say so in their documentation).
    refund_window = timedelta(hours=1)

    def __init__(self, method: PaymentMethod):
        self.method = method

    def start(self, payment: Payment, *, return_url: str, cancel_url: str) -> GatewayResult:
        """Create the payment at the gateway; return where to send the client."""
        raise NotImplementedError

    def handle_return(self, payment: Payment) -> GatewayResult:
        """The client came back from the gateway: what does the gateway say now?"""
        return self.query_status(payment)

    def query_status(self, payment: Payment) -> GatewayResult:
        raise NotImplementedError

    def parse_webhook(self, body: bytes, headers: dict[str, str]) -> WebhookEvent:
        raise WebhookRejected("This gateway sends no webhooks.")

    def cancel(self, payment: Payment) -> GatewayResult:
        """The client gives the payment up: make sure the gateway will not take the money
        any more, and say what became of it (Failed once voided; Succeeded when it was too
        late; Pending when the gateway cannot stop it now). By default there is nothing to
        void: a bank transfer the client will not make."""
        return GatewayResult(status=PaymentStatus.FAILED, message="Cancelled by the client.")

    def charge_saved(self, payment: Payment, saved: SavedPaymentMethod) -> GatewayResult:
        raise GatewayError("This gateway cannot charge a saved payment method.")

    def refund(self, payment: Payment, refund: Refund, amount: Money) -> RefundResult:
        """Ask the gateway to refund ``amount`` of ``payment``, with ``refund-<id>`` as the
        idempotency key: asking again for the same refund never refunds twice. Raises
        GatewayError when the gateway refuses for good."""
        raise GatewayError("This payment method cannot refund; send the money back "
                           "another way and record it as a manual adjustment.")

    def query_refund(self, payment: Payment, refund: Refund) -> RefundResult:
        """What became of a refund the gateway did not confirm at once (or did not
        answer); by default the same idempotent request again."""
        return self.refund(payment, refund, refund.money)
