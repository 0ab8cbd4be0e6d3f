import os
import subprocess
import sys


def test_production_refuses_to_start_without_a_credentials_key():
    env = {k: v for k, v in os.environ.items() if k != "WEFT_CREDENTIALS_KEY"}
    env.update({"WEFT_ENV": "production", "WEFT_SECRET_KEY": "x" * 50,
                "DJANGO_SETTINGS_MODULE": "config.settings"})
    result = subprocess.run([sys.executable, "-c", "import django; django.setup()"], env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "WEFT_CREDENTIALS_KEY must be set" in result.stderr
