"""API keys for the server: the key logic lives in :mod:`models.keys`, shared with ``flrisk keys``.

The server verifies presented keys with :class:`KeyStore`, which re-reads the keys file when
it changes: a key created or revoked with ``flrisk keys`` takes effect on the next request.
"""

from __future__ import annotations

from models.keys import (
    KEY_PREFIX,
    SCOPES,
    KeyFileError,
    KeyStore,
    Principal,
    bootstrap_admin_key,
    create_key,
)


def presented_key(headers: list[tuple[bytes, bytes]]) -> str | None:
    """The key in ``Authorization: Bearer <key>``, else in ``X-API-Key`` (as FastAPI reads them)."""
    bearer = api_key = None
    for name, value in headers:
        if name == b"authorization":
            scheme, _, credentials = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and credentials.strip():
                bearer = credentials.strip()
        elif name == b"x-api-key":
            api_key = value.decode("latin-1")
    return bearer or api_key or None


__all__ = [
    "KEY_PREFIX",
    "SCOPES",
    "KeyFileError",
    "KeyStore",
    "Principal",
    "bootstrap_admin_key",
    "create_key",
    "presented_key",
]
