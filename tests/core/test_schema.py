import yaml
from django.core.management import call_command


def test_openapi_schema_builds_without_warnings_and_names_components_apart(tmp_path):
    target = tmp_path / "schema.yaml"
    # --fail-on-warn: colliding component names or unknown authenticators fail here
    call_command("spectacular", "--fail-on-warn", "--file", str(target))
    schema = yaml.safe_load(target.read_text())
    components = schema["components"]["schemas"]
    assert "WorkflowListInputRequest" in components
    assert "TokenObtainInputRequest" in components
    assert schema["components"]["securitySchemes"]["tokenAuth"]["name"] == "Authorization"
