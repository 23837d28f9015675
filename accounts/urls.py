from django.urls import path

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("", views.account_info, name="account_info"),
    path("payers/", views.payer_index, name="payers"),
    path("payers/new/", views.payer_create, name="payer_create"),
    path("payers/<int:pk>/", views.payer_edit, name="payer_edit"),
    path("payers/<int:pk>/default/", views.payer_make_default, name="payer_make_default"),
    path("payers/<int:pk>/delete/", views.payer_delete, name="payer_delete"),
    path("users/", views.user_index, name="users"),
    path("users/invite/", views.user_invite, name="user_invite"),
    path("users/<int:pk>/", views.user_edit, name="user_edit"),
    path("users/<int:pk>/remove/", views.user_remove, name="user_remove"),
    path("leave-client-area/", views.impersonation_leave, name="impersonation_leave"),
]
