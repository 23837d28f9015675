from django.urls import path

from billing import views

app_name = "billing"

urlpatterns = [
    path("invoices/", views.invoices, name="invoices"),
    path("invoices/<int:pk>/", views.invoice, name="invoice"),
    path("invoices/<int:pk>/pdf/", views.invoice_download, name="invoice_pdf"),
    path("invoices/<int:pk>/document/", views.invoice_document, name="invoice_document"),
    path("expenses/", views.expenses, name="expenses"),
    path("expenses/service/<int:pk>/", views.service_charges, name="service_charges"),
    path("promised-payment/", views.promised_payment, name="promised_payment"),
    path("promised-payment/take/", views.promised_payment_create,
         name="promised_payment_create"),
]
