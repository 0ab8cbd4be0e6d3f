"""Every REST route, in one place so the role matrix test can walk them."""

from django.urls import path

from apps.accounts import apis as accounts
from apps.inference import apis as inference
from apps.nodes import apis as nodes
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
