from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from apps.accounts import views as account_views
from apps.console import views as console_views
from apps.core import views as core_views
from apps.runs import apis as runs_apis

handler404 = core_views.not_found

urlpatterns = [
    path("healthz", core_views.healthz, name="healthz"),
    path("readyz", core_views.readyz, name="readyz"),
    path("login/", account_views.LoginView.as_view(), name="login"),
    path("logout/", account_views.LogoutView.as_view(), name="logout"),
    path("", core_views.home, name="home"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves its start-up script as a file: no inline script (CSP).
    path("api/docs/", SpectacularSwaggerSplitView.as_view(
        url_name="api-schema", template_name="core/swagger_ui.html"), name="api-docs"),
    path("api/", include("config.api_urls")),
    path("", include("apps.editor.urls")),
    path("", include("apps.approvals.urls")),
    path("runs/", include("apps.runs.urls")),
    path("console/", console_views.home, name="console"),
    path("console/", include("apps.console.urls")),
    path("hooks/<str:secret>/", runs_apis.webhook, name="webhook"),
    path("hooks-test/<str:secret>/", runs_apis.webhook_test, name="webhook-test"),
    path("metrics", runs_apis.metrics_view, name="metrics"),
]
