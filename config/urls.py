from django.contrib import admin
from django.urls import include, path

from accounts import signup_views
from accounts import views as account_views
from cart.admin import price_preview
from support.webhooks import mailgun_inbound

urlpatterns = [
    path("", account_views.home, name="home"),
    path("account/", include("accounts.urls")),
    path("services/", include("services.urls")),
    path("finances/", include("billing.urls")),
    path("payments/", include("payments.urls")),
    path("", include("cart.urls")),
    path("support/", include("support.urls")),
    path("auth/signup/", signup_views.signup, name="account_signup"),
    path("auth/", include("allauth.urls")),
    path("staff/cart/price-preview/<int:plan_id>/", admin.site.admin_view(price_preview),
         name="cart_price_preview"),
    path("staff/", admin.site.urls),
    # E-mail in from an ESP (Mailgun's raw-MIME route), as django-anymail documents it;
    # 404 until its secrets are set (support.webhooks).
    path("anymail/mailgun/inbound_mime/", mailgun_inbound, name="mailgun_inbound_webhook"),
]
