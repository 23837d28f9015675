from django.urls import path

from payments import views

app_name = "payments"

urlpatterns = [
    path("add-funds/", views.add_funds, name="add_funds"),
    path("credits/", views.credits, name="credits"),
    path("methods/", views.saved_methods, name="saved_methods"),
    path("methods/<int:pk>/remove/", views.saved_method_remove, name="saved_method_remove"),
    path("methods/<int:pk>/default/", views.saved_method_default, name="saved_method_default"),
    path("<int:pk>/", views.payment_detail, name="detail"),
    path("<int:pk>/return/<str:token>/", views.payment_return, name="return"),
    path("<int:pk>/cancel/", views.payment_cancel, name="cancel"),
    path("invoices/<int:pk>/pay/", views.invoice_pay, name="invoice_pay"),
    path("invoices/<int:pk>/cancel/", views.invoice_cancel, name="invoice_cancel"),
    path("sandbox/<str:reference>/", views.sandbox_page, name="sandbox_page"),
    path("sandbox/<str:reference>/decide/", views.sandbox_decide, name="sandbox_decide"),
    path("webhooks/<int:method_id>/", views.webhook, name="webhook"),
]
