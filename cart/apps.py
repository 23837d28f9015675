from django.apps import AppConfig


class CartConfig(AppConfig):
    name = "cart"
    verbose_name = "Cart and orders"

    def ready(self) -> None:
        from cart import order_payments, signals  # noqa: F401 - receivers and purposes
