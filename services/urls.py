from django.urls import path

from services import views

app_name = "services"

urlpatterns = [
    path("", views.service_index, name="list"),
    path("<int:pk>/", views.service_detail, name="detail"),
    path("<int:pk>/nameservers/", views.service_nameservers, name="nameservers"),
    path("<int:pk>/configure/", views.service_configure, name="configure"),
    path("<int:pk>/<slug:action>/", views.service_action, name="action"),
]
