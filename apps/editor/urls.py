from django.urls import path

from apps.editor import views

app_name = "editor"

urlpatterns = [
    path("workflows/", views.workflow_list_page, name="workflow-list"),
    path("editor/<uuid:workflow_id>/", views.editor_page, name="editor"),
]
