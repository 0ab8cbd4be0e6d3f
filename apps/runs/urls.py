from django.urls import path

from apps.runs import views

app_name = "runs"

urlpatterns = [
    path("", views.run_list, name="list"),
    path("bulk/", views.run_bulk, name="bulk"),
    path("<uuid:run_id>/", views.run_detail, name="detail"),
    path("<uuid:run_id>/debug/", views.run_debug, name="debug"),
    path("<uuid:run_id>/<str:action>/", views.run_action, name="action"),
]
