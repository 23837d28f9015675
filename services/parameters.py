"""The parameters a client gives a service, per product type (host name, domain, ...)."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator

from services.models import ProductType, Service

_HOST = r"(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}"
HOSTNAME = RegexValidator(rf"^{_HOST}$", "Enter a name such as server1.example.com.")
DOMAIN = RegexValidator(rf"^{_HOST}$", "Enter a domain such as example.com.")


@dataclass(frozen=True)
class ParameterField:
    name: str
    label: str
    validator: RegexValidator
    help_text: str = ""


PARAMETER_FIELDS: dict[str, list[ParameterField]] = {
    ProductType.VIRTUAL_SERVER: [ParameterField("hostname", "Host name", HOSTNAME,
                                                "The server's name, e.g. web1.example.com.")],
    ProductType.DEDICATED: [ParameterField("hostname", "Host name", HOSTNAME)],
    ProductType.SHARED_HOSTING: [ParameterField("domain", "Domain", DOMAIN,
                                                "The site's main domain.")],
    ProductType.DOMAIN: [ParameterField("domain", "Domain name", DOMAIN,
                                        "The domain to register, e.g. example.com.")],
    ProductType.SSL: [ParameterField("domain", "Domain", DOMAIN, "The certificate's domain.")],
    ProductType.DNS: [ParameterField("domain", "Domain", DOMAIN)],
    ProductType.OTHER: [],
}


def clean_parameters(product_type: str, data: dict, *, required: bool = True) -> dict:
    """Validated, normalised parameters; a ``ValidationError`` per field otherwise."""
    cleaned, errors = {}, {}
    for field in PARAMETER_FIELDS.get(product_type, []):
        value = (data.get(field.name) or "").strip().lower().rstrip(".")
        if not value:
            if required:
                errors[field.name] = f"{field.label} is required."
            continue
        try:
            field.validator(value)
        except ValidationError as error:
            errors[field.name] = error.messages
        else:
            cleaned[field.name] = value
    if errors:
        raise ValidationError(errors)
    return cleaned


def missing_parameters(service: Service) -> list[ParameterField]:
    return [field for field in PARAMETER_FIELDS.get(service.plan.product_type, [])
            if not service.parameters.get(field.name)]


def service_display_name(product_type: str, parameters: dict, plan_name: str) -> str:
    return parameters.get("hostname") or parameters.get("domain") or plan_name
