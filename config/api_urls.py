"""Every REST route, in one place so the role matrix test can walk them."""

from django.urls import path

from apps.accounts import apis as accounts
from apps.audit import apis as audit
from apps.credentials import apis as credentials
from apps.expressions import apis as expressions
from apps.inference import apis as inference
from apps.nodes import apis as nodes
from apps.runs import apis as runs
from apps.workflows import apis as workflows

urlpatterns = [
    path("auth/token/", accounts.TokenObtainApi.as_view(), name="auth-token"),
    path("auth/tokens/", accounts.TokenListApi.as_view(), name="auth-tokens"),
    path("auth/tokens/<int:token_id>/", accounts.TokenRevokeApi.as_view(),
         name="auth-token-revoke"),
    path("auth/me/", accounts.MeApi.as_view(), name="auth-me"),
    path("users/", accounts.UserListApi.as_view(), name="users"),
    path("users/<int:user_id>/", accounts.UserDetailApi.as_view(), name="user-detail"),
    path("node-types/", nodes.NodeTypeListApi.as_view(), name="node-types"),
    path("workflows/", workflows.WorkflowListApi.as_view(), name="workflows"),
    path("workflows/import/", workflows.WorkflowImportApi.as_view(), name="workflow-import"),
    path("workflows/<uuid:workflow_id>/", workflows.WorkflowDetailApi.as_view(),
         name="workflow-detail"),
    path("workflows/<uuid:workflow_id>/validate/", workflows.WorkflowValidateApi.as_view(),
         name="workflow-validate"),
    path("workflows/<uuid:workflow_id>/publish/", workflows.WorkflowPublishApi.as_view(),
         name="workflow-publish"),
    path("workflows/<uuid:workflow_id>/versions/", workflows.WorkflowVersionListApi.as_view(),
         name="workflow-versions"),
    path("workflows/<uuid:workflow_id>/versions/<int:number>/",
         workflows.WorkflowVersionDetailApi.as_view(), name="workflow-version-detail"),
    path("workflows/<uuid:workflow_id>/versions/<int:number>/restore/",
         workflows.WorkflowVersionRestoreApi.as_view(), name="workflow-version-restore"),
    path("workflows/<uuid:workflow_id>/export/", workflows.WorkflowExportApi.as_view(),
         name="workflow-export"),
    path("expressions/check/", expressions.ExpressionCheckApi.as_view(),
         name="expression-check"),
    path("credentials/", credentials.CredentialListApi.as_view(), name="credentials"),
    path("credentials/<uuid:credential_id>/", credentials.CredentialDetailApi.as_view(),
         name="credential-detail"),
    path("audit/events/", audit.AuditEventListApi.as_view(), name="audit-events"),
    path("audit/events/<int:seq>/", audit.AuditEventDetailApi.as_view(),
         name="audit-event-detail"),
    path("audit/verify/", audit.AuditVerifyApi.as_view(), name="audit-verify"),
    path("workflows/<uuid:workflow_id>/runs/", runs.WorkflowRunStartApi.as_view(),
         name="workflow-runs"),
    path("workflows/<uuid:workflow_id>/runtime/", runs.WorkflowRuntimeApi.as_view(),
         name="workflow-runtime"),
    path("runs/", runs.RunListApi.as_view(), name="runs"),
    path("runs/<uuid:run_id>/", runs.RunDetailApi.as_view(), name="run-detail"),
    path("runs/<uuid:run_id>/nodes/<path:node_id>/items/", runs.RunNodeItemsApi.as_view(),
         name="run-node-items"),
    path("runs/<uuid:run_id>/cancel/", runs.RunCancelApi.as_view(), name="run-cancel"),
    path("runs/<uuid:run_id>/retry/", runs.RunRetryApi.as_view(), name="run-retry"),
    path("engine/pause/", runs.EngineSwitchApi.as_view(), name="engine-pause"),
    path("inference/servers/", inference.TritonServerListApi.as_view(),
         name="triton-servers"),
    path("inference/servers/<int:server_id>/", inference.TritonServerDetailApi.as_view(),
         name="triton-server-detail"),
    path("inference/servers/<int:server_id>/models/", inference.TritonModelListApi.as_view(),
         name="triton-models"),
    path("inference/servers/<int:server_id>/models/<str:model>/",
         inference.TritonModelDetailApi.as_view(), name="triton-model-detail"),
    path("inference/servers/<int:server_id>/models/<str:model>/infer/",
         inference.TritonModelInferApi.as_view(), name="triton-model-infer"),
]
