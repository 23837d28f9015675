from django.urls import path

from support import views, views_announcements

app_name = "support"

urlpatterns = [
    path("", views.ticket_index, name="tickets"),
    path("archive/", views.ticket_archive, name="archive"),
    path("new/", views.ticket_create, name="ticket_create"),
    path("<int:pk>/", views.ticket_detail, name="ticket"),
    path("<int:pk>/reply/", views.ticket_reply, name="reply"),
    path("<int:pk>/close/", views.ticket_close, name="close"),
    path("<int:pk>/reopen/", views.ticket_reopen, name="reopen"),
    path("<int:pk>/rate/", views.ticket_rate, name="rate"),
    path("<int:pk>/follow/", views.ticket_follow, name="follow"),
    path("attachments/<int:pk>/", views.attachment_download, name="attachment"),
    # Announcements
    path("announcements/<int:pk>/dismiss/", views_announcements.announcement_dismiss,
         name="announcement_dismiss"),
]
