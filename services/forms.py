from django import forms
from django.core.validators import RegexValidator

from services.models import ProductType, ServiceStatus
from services.parameters import PARAMETER_FIELDS

HOSTNAME = RegexValidator(
    r"^(?=.{1,253}$)([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z]{2,63}\.?$",
    "Enter a host name such as ns1.example.com.",
)


class ServiceFilterForm(forms.Form):
    type = forms.ChoiceField(choices=[("", "All types"), *ProductType.choices], required=False)
    status = forms.ChoiceField(choices=[("", "All statuses"), *ServiceStatus.choices],
                               required=False)
    id = forms.IntegerField(required=False, min_value=1, label="Id",
                            widget=forms.NumberInput(attrs={"placeholder": "Id"}))


class NameserversForm(forms.Form):
    ns1 = forms.CharField(label="Name server 1", validators=[HOSTNAME])
    ns2 = forms.CharField(label="Name server 2", validators=[HOSTNAME])
    ns3 = forms.CharField(label="Name server 3", validators=[HOSTNAME], required=False)
    ns4 = forms.CharField(label="Name server 4", validators=[HOSTNAME], required=False)

    def nameservers(self) -> list[str]:
        return [self.cleaned_data[f"ns{i}"].lower().rstrip(".")
                for i in range(1, 5) if self.cleaned_data.get(f"ns{i}")]

    @classmethod
    def for_service(cls, service, data=None):
        current = service.parameters.get("nameservers", [])
        initial = {f"ns{i + 1}": name for i, name in enumerate(current[:4])}
        return cls(data, initial=initial)


class ParametersForm(forms.Form):
    """The parameters of a service's product type (host name, domain, ...)."""

    def __init__(self, *args, plan, **kwargs):
        super().__init__(*args, **kwargs)
        for field in PARAMETER_FIELDS.get(plan.product_type, []):
            self.fields[field.name] = forms.CharField(label=field.label, max_length=253,
                                                      help_text=field.help_text,
                                                      validators=[field.validator])
