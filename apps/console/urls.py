from django.urls import path

from apps.console import credentials, teams, triton, variables, views
from apps.feedback.views import agreement_page
from apps.privacy import views as privacy

app_name = "console"

urlpatterns = [
    path("", views.home, name="home"),
    path("audit/", views.audit_list, name="audit"),
    path("audit/verify/", views.audit_verify, name="audit-verify"),
    path("audit/export.<str:fmt>", views.audit_export, name="audit-export"),
    path("audit/<int:seq>/", views.audit_detail, name="audit-detail"),
    path("users/", views.users, name="users"),
    path("users/<int:user_id>/roles/", views.user_roles, name="user-roles"),
    path("users/<int:user_id>/active/", views.user_active, name="user-active"),
    path("users/lockouts/clear/", views.lockout_clear, name="lockout-clear"),
    path("tokens/", views.tokens, name="tokens"),
    path("tokens/<int:token_id>/revoke/", views.token_revoke, name="token-revoke"),
    path("credentials/", credentials.credentials, name="credentials"),
    path("credentials/<uuid:credential_id>/", credentials.credential_detail,
         name="credential-detail"),
    path("credentials/<uuid:credential_id>/delete/", credentials.credential_delete,
         name="credential-delete"),
    path("credentials/<uuid:credential_id>/test/", credentials.credential_test,
         name="credential-test"),
    path("credentials/<uuid:credential_id>/hosts/", credentials.credential_hosts,
         name="credential-hosts"),
    path("variables/", variables.variables, name="variables"),
    path("variables/<int:variable_id>/", variables.variable_edit, name="variable-edit"),
    path("variables/<int:variable_id>/delete/", variables.variable_delete,
         name="variable-delete"),
    path("triton/", triton.servers, name="triton"),
    path("triton/<int:server_id>/", triton.server_detail, name="triton-detail"),
    path("triton/<int:server_id>/delete/", triton.server_delete, name="triton-delete"),
    path("triton/<int:server_id>/try/", triton.model_try, name="triton-try"),
    path("teams/", teams.teams, name="teams"),
    path("teams/<uuid:team_id>/", teams.team_detail, name="team-detail"),
    path("teams/<uuid:team_id>/delete/", teams.team_delete, name="team-delete"),
    path("teams/<uuid:team_id>/members/", teams.team_member_add, name="team-member-add"),
    path("teams/<uuid:team_id>/members/<int:user_id>/remove/", teams.team_member_remove,
         name="team-member-remove"),
    path("operations/", views.operations, name="operations"),
    path("models/agreement/", agreement_page, name="model-agreement"),
    path("personal-data/", privacy.personal_data_page, name="personal-data"),
    path("personal-data/policy/", privacy.personal_data_policy, name="personal-data-policy"),
    path("personal-data/grants/", privacy.personal_data_grant, name="personal-data-grant"),
    path("operations/kill-switch/", views.kill_switch, name="kill-switch"),
]
