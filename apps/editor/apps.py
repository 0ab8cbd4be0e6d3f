from django.apps import AppConfig


class EditorConfig(AppConfig):
    """Server-rendered shells for the canvas editor and the workflow list.

    The pages only boot the React app built from `frontend/` into `static/dist/`;
    everything else goes through the REST API.
    """

    name = "apps.editor"
    label = "editor"
    verbose_name = "Editor pages"
