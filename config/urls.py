from django.contrib import admin
from django.urls import include, path

from accounts import views as account_views

urlpatterns = [
    path("", account_views.home, name="home"),
    path("account/", include("accounts.urls")),
    path("services/", include("services.urls")),
    path("finances/", include("billing.urls")),
    path("payments/", include("payments.urls")),
    path("auth/", include("allauth.urls")),
    path("staff/", admin.site.urls),
]
