import re

from cart.models import CartItem


def order_vps(client, plan, disk="40", period="month", hostname="new.example.com", **extra):
    return client.post(f"/order/{plan.pk}/", {"period": period, "hostname": hostname,
                                              f"addon_{plan.disk.pk}": disk, **extra})


def pay(client, pay_with="balance", url="/cart/checkout/", key=None, **extra):
    page = client.get("/cart/").content.decode()
    if key is None:
        found = re.search(r'name="idempotency_key" value="([^"]+)"', page)
        key = found.group(1) if found else "k"
    return client.post(url, {"pay_with": pay_with, "idempotency_key": key, **extra})


def cart_items():
    return list(CartItem.objects.select_related("service"))
