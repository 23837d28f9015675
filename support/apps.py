from django.apps import AppConfig


class SupportConfig(AppConfig):
    name = "support"
    verbose_name = "Support center"

    def ready(self):
        # E-mail in by an ESP's inbound webhook (support.webhooks).
        from anymail.signals import inbound

        from support.webhooks import inbound_received

        inbound.connect(inbound_received, dispatch_uid="support.inbound_received")
