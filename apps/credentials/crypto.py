"""Encryption at rest for credential secrets: Fernet (AES-128-CBC + HMAC-SHA256)
with MultiFernet for key rotation. Keys come from settings.WEFT_CREDENTIALS_KEYS
(newest first): new secrets are encrypted with the first, any listed key decrypts,
and `credential_rotate_all` re-encrypts every row with the first."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


class SecretUnreadable(RuntimeError):
    """No configured key decrypts the stored secret (the key was removed or changed)."""


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise RuntimeError("No credentials key is configured (WEFT_CREDENTIALS_KEY).")
    return MultiFernet([Fernet(key.encode() if isinstance(key, str) else key) for key in keys])


def fernet() -> MultiFernet:
    return _fernet(tuple(settings.WEFT_CREDENTIALS_KEYS))


def encrypt_secret(secret: dict[str, Any]) -> str:
    plain = json.dumps(secret, separators=(",", ":"), sort_keys=True).encode()
    return fernet().encrypt(plain).decode("ascii")


def decrypt_secret(token: str) -> dict[str, Any]:
    try:
        return json.loads(fernet().decrypt(token.encode("ascii")))
    except InvalidToken:
        raise SecretUnreadable("The stored secret cannot be decrypted with the configured "
                               "keys (WEFT_CREDENTIALS_KEY).") from None


def rotate_secret(token: str) -> str:
    try:
        return fernet().rotate(token.encode("ascii")).decode("ascii")
    except InvalidToken:
        raise SecretUnreadable("A stored secret cannot be decrypted with the configured "
                               "keys.") from None
