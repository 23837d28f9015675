"""Driving the sandbox gateway from tests as the browser and the gateway would."""

import re

from payments.gateways.sandbox import HEADER, event_body, sign, webhook_secret
from payments.models import SandboxTransaction


def start_top_up(client, method, amount="50.00", **extra):
    """Submit the Add funds form; returns the response (a redirect to the sandbox page)."""
    form = client.get("/payments/add-funds/").content.decode()
    key = re.search(r'name="idempotency_key" value="([^"]+)"', form).group(1)
    data = {"method": method.pk, "amount": amount, "idempotency_key": key, **extra}
    return client.post("/payments/add-funds/", data)


def decide(client, response, outcome):
    """Press a button on the sandbox page; returns the sandbox transaction."""
    reference = response["Location"].rstrip("/").split("/")[-1]
    client.post(f"/payments/sandbox/{reference}/decide/", {"outcome": outcome, "save": "1"})
    return SandboxTransaction.objects.get(reference=reference)


def deliver(client, sandbox, event_type, *, secret=None, timestamp=None, body=None, send=None):
    """POST the sandbox's webhook to our endpoint, signed as the sandbox signs it
    (``send`` swaps the body after signing, as a forger would)."""
    body = body or event_body(sandbox, event_type)
    signature = sign(body, secret or webhook_secret(sandbox.method), timestamp)
    header = f"HTTP_{HEADER.upper().replace('-', '_')}"
    return client.generic("POST", f"/payments/webhooks/{sandbox.method_id}/", send or body,
                          content_type="application/json", **{header: signature})
