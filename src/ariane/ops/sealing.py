"""TOTP secrets at rest: AES-GCM under a key derived from the case key.

A TOTP secret cannot be hashed like a password (the server needs it to check a code), so it
is encrypted. The key is derived (HKDF) from the case key, which the server holds anyway to
open the case: a copy of the operational database alone (a PostgreSQL dump, a backup)
gives nobody a second factor. The user's id is bound in as associated data, so a sealed
secret copied onto another user's row does not open.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

NONCE_BYTES = 12


def seal(key: bytes, secret: str, user_id: int) -> bytes:
    """Encrypt a TOTP secret for one user: nonce then ciphertext."""
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(key).encrypt(nonce, secret.encode("ascii"), _aad(user_id))


def unseal(key: bytes, sealed: bytes, user_id: int) -> str | None:
    """The secret, or None when the key or the row is not the one it was sealed for."""
    nonce, body = sealed[:NONCE_BYTES], sealed[NONCE_BYTES:]
    try:
        return AESGCM(key).decrypt(nonce, body, _aad(user_id)).decode("ascii")
    except (InvalidTag, ValueError):
        return None


def _aad(user_id: int) -> bytes:
    return f"ariane totp user {user_id}".encode()
