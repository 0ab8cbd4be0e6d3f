"""Encryption of stored secrets (a Triton server's secret headers) with Fernet.

The key comes from WEFT_CREDENTIALS_KEY (setting or environment): a Fernet key,
or any passphrase (hashed into one). Several keys separated by commas rotate:
the first encrypts, all of them decrypt. In development a key is generated into
var/credentials_key; production refuses to start without one.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import os

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

KEY_ENV = "WEFT_CREDENTIALS_KEY"


class SecretUnreadable(RuntimeError):
    """Stored secrets that the configured keys cannot decrypt (the key changed)."""


def _raw_keys() -> str:
    raw = getattr(settings, KEY_ENV, "") or os.environ.get(KEY_ENV, "")
    if raw:
        return raw
    if getattr(settings, "PRODUCTION", False):
        raise ImproperlyConfigured(f"{KEY_ENV} must be set when WEFT_ENV=production.")
    key_file = settings.VAR_DIR / "credentials_key"
    if not key_file.exists():
        key_file.parent.mkdir(parents=True, exist_ok=True)
        key_file.write_text(Fernet.generate_key().decode())
        key_file.chmod(0o600)
    return key_file.read_text().strip()


def _fernet_key(text: str) -> bytes:
    try:
        Fernet(text.encode())
        return text.encode()
    except (ValueError, TypeError):
        return base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest())


@functools.cache
def _fernet(raw: str) -> MultiFernet:
    return MultiFernet([Fernet(_fernet_key(k.strip())) for k in raw.split(",") if k.strip()])


def encrypt_json(value: object) -> str:
    return _fernet(_raw_keys()).encrypt(json.dumps(value).encode()).decode()


def decrypt_json(token: str) -> object:
    try:
        return json.loads(_fernet(_raw_keys()).decrypt(token.encode()))
    except InvalidToken as exc:
        raise SecretUnreadable(
            f"stored secrets cannot be decrypted with the configured {KEY_ENV}"
        ) from exc
