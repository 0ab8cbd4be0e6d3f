import os
import subprocess
import sys


def _start(env_extra):
    env = {k: v for k, v in os.environ.items() if k != "WEFT_SECRET_KEY"}
    env.update(env_extra)
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env={**env, "DJANGO_SETTINGS_MODULE": "config.settings"},
        capture_output=True, text=True, timeout=60,
    )


def test_production_refuses_to_start_without_a_secret_key():
    result = _start({"WEFT_ENV": "production"})
    assert result.returncode != 0
    assert "WEFT_SECRET_KEY must be set" in result.stderr


def test_production_starts_with_a_secret_key_and_debug_off():
    env = {"WEFT_ENV": "production", "WEFT_SECRET_KEY": "x" * 50,
           "WEFT_CREDENTIALS_KEY": "ZmDfcTF7_60GrrY167zsiPd67pEvs0aGOv2oasOM1Pg="}
    result = _start(env)
    assert result.returncode == 0, result.stderr
    check = subprocess.run(
        [sys.executable, "-c",
         "import django; django.setup(); from django.conf import settings; print(settings.DEBUG)"],
        env={**os.environ, **env, "DJANGO_SETTINGS_MODULE": "config.settings"},
        capture_output=True, text=True, timeout=60)
    assert check.stdout.strip() == "False"


def test_production_sends_hsts_and_secure_cookies():
    env = {"WEFT_ENV": "production", "WEFT_SECRET_KEY": "x" * 50,
           "WEFT_CREDENTIALS_KEY": "ZmDfcTF7_60GrrY167zsiPd67pEvs0aGOv2oasOM1Pg="}
    check = subprocess.run(
        [sys.executable, "-c",
         "import django; django.setup(); from django.conf import settings as s; "
         "print(s.SECURE_HSTS_SECONDS, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, "
         "s.SECURE_PROXY_SSL_HEADER[0])"],
        env={**os.environ, **env, "DJANGO_SETTINGS_MODULE": "config.settings"},
        capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stderr
    hsts, session_secure, csrf_secure, proxy_header = check.stdout.split()
    assert int(hsts) >= 180 * 24 * 3600
    assert (session_secure, csrf_secure) == ("True", "True")
    assert proxy_header == "HTTP_X_FORWARDED_PROTO"
