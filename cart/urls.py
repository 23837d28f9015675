from django.urls import path

from cart import views

app_name = "cart"

urlpatterns = [
    path("order/", views.catalog, name="catalog"),
    path("order/<int:plan_id>/", views.order_plan, name="order_plan"),
    path("cart/", views.cart_view, name="cart"),
    path("cart/items/<int:item_id>/remove/", views.cart_remove, name="remove"),
    path("cart/items/<int:item_id>/pay/", views.pay_item, name="pay_item"),
    path("cart/promo/", views.promo_apply, name="promo"),
    path("cart/checkout/", views.checkout, name="checkout"),
    path("orders/", views.orders, name="orders"),
    path("orders/<int:pk>/", views.order_detail, name="order"),
    path("orders/<int:pk>/pay/", views.order_pay_view, name="order_pay"),
    path("orders/<int:pk>/cancel/", views.order_cancel_view, name="order_cancel"),
    path("cart/services/<int:service_id>/renew/", views.renew, name="renew"),
    path("cart/services/<int:service_id>/change/", views.change, name="change"),
    path("cart/services/<int:service_id>/auto-renew/", views.auto_renew, name="auto_renew"),
]
