from django.urls import path

from billing import views

app_name = "billing"

urlpatterns = [
    path("invoices/", views.invoices, name="invoices"),
    path("invoices/<int:pk>/", views.invoice, name="invoice"),
    path("invoices/<int:pk>/pdf/", views.invoice_download, name="invoice_pdf"),
    path("invoices/<int:pk>/document/", views.invoice_document, name="invoice_document"),
    path("closing/", views.closing_documents, name="closing_documents"),
    path("closing/<int:pk>/", views.closing_document, name="closing_document"),
    path("closing/<int:pk>/pdf/", views.closing_document_pdf, name="closing_document_pdf"),
    path("closing/<int:pk>/document/", views.closing_document_print,
         name="closing_document_print"),
    path("credit-notes/<int:pk>/", views.credit_note, name="credit_note"),
    path("credit-notes/<int:pk>/pdf/", views.credit_note_pdf_view, name="credit_note_pdf"),
    path("credit-notes/<int:pk>/document/", views.credit_note_print, name="credit_note_print"),
    path("expenses/", views.expenses, name="expenses"),
    path("expenses/service/<int:pk>/", views.service_charges, name="service_charges"),
    path("promised-payment/", views.promised_payment, name="promised_payment"),
    path("promised-payment/take/", views.promised_payment_create,
         name="promised_payment_create"),
]
