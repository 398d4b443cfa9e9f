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

__all__ = [
    "KEY_PREFIX",
    "SCOPES",
    "KeyFileError",
    "KeyStore",
    "Principal",
    "bootstrap_admin_key",
    "create_key",
]
