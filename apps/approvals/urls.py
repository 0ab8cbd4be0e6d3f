from django.urls import path

from apps.approvals import views

urlpatterns = [
    path("inbox/", views.inbox_page, name="inbox"),
    path("inbox/<uuid:task_id>/", views.inbox_page, name="inbox-task"),
]
