"""Payment gateways by code."""

from __future__ import annotations

from payments.gateways.bank_transfer import BankTransferGateway
from payments.gateways.base import (
    GatewayError,
    GatewayResult,
    PaymentGateway,
    RefundResult,
    SavedToken,
    WebhookEvent,
    WebhookRejected,
)
from payments.gateways.sandbox import SandboxGateway
from payments.gateways.stripe import StripeGateway

GATEWAYS: dict[str, type[PaymentGateway]] = {
    BankTransferGateway.code: BankTransferGateway,
    SandboxGateway.code: SandboxGateway,
    StripeGateway.code: StripeGateway,
}


def gateway_for(method) -> PaymentGateway:
    return GATEWAYS[method.gateway](method)


__all__ = ["GATEWAYS", "GatewayError", "GatewayResult", "PaymentGateway", "RefundResult",
           "SavedToken", "WebhookEvent", "WebhookRejected", "gateway_for"]
