from django.apps import AppConfig


class CartConfig(AppConfig):
    name = "cart"
    verbose_name = "Cart and orders"

    def ready(self) -> None:
        from cart import signals  # noqa: F401 - connects the receivers
