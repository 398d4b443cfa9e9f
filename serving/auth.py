"""API keys with scopes, stored hashed in a JSON file and compared in constant time.

A key is 32 random bytes (URL-safe text prefixed ``flr_``). Only ``sha256(salt || key)`` and
the salt are stored, so the file does not reveal keys. Because keys are high-entropy, a
salted SHA-256 is enough (no slow KDF needed to resist guessing), and it keeps the check
cheap on every request. The file is re-read when it changes, so keys can be added or
revoked without a restart.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

SCOPES: tuple[str, ...] = ("score", "batch", "feedback", "admin")
KEY_PREFIX = "flr_"


@dataclass(frozen=True)
class Principal:
    """The caller behind a valid key."""

    key_id: str
    scopes: frozenset[str]


class KeyFileError(RuntimeError):
    """The keys file exists but cannot be read as a keys file."""


def _digest(salt: bytes, key: str) -> bytes:
    return hashlib.sha256(salt + key.encode()).digest()


def _read(path: Path) -> list[dict[str, Any]]:
    try:
        data = json.loads(path.read_text())
        keys = data["keys"]
        if not isinstance(keys, list):
            raise TypeError("'keys' is not a list")
        return keys
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise KeyFileError(f"cannot read API keys file {path}: {exc}") from exc


def create_key(path: Path, key_id: str, scopes: list[str] | tuple[str, ...]) -> str:
    """Add a key to the keys file (created if absent) and return its plaintext, once.

    Args:
        path: The keys file (``settings.keys_path()``).
        key_id: A name for the key (who holds it); must be new.
        scopes: Subset of ``score``, ``batch``, ``feedback``, ``admin``.

    Returns:
        The key; only its salted hash is stored.

    Raises:
        ValueError: Unknown scope or an existing ``key_id``.
    """
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown:
        raise ValueError(f"unknown scope(s) {unknown}; known: {list(SCOPES)}")
    keys = _read(path) if path.exists() else []
    if any(k.get("id") == key_id for k in keys):
        raise ValueError(f"key id {key_id!r} already exists")
    plaintext = KEY_PREFIX + secrets.token_urlsafe(32)
    salt = secrets.token_bytes(16)
    keys.append(
        {
            "id": key_id,
            "salt": salt.hex(),
            "sha256": _digest(salt, plaintext).hex(),
            "scopes": sorted(set(scopes)),
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
        }
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    # Owner-only file, written then renamed so a reader never sees half a file.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump({"keys": keys}, fh, indent=2)
    tmp.replace(path)
    return plaintext


class KeyStore:
    """Verifies presented keys against the keys file (cached, re-read on change)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._keys: list[tuple[str, bytes, bytes, frozenset[str]]] = []

    def _load(self) -> list[tuple[str, bytes, bytes, frozenset[str]]]:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return []
        stamp = (st.st_mtime_ns, st.st_size)
        with self._lock:
            if stamp != self._stamp:
                self._keys = [
                    (
                        str(k["id"]),
                        bytes.fromhex(k["salt"]),
                        bytes.fromhex(k["sha256"]),
                        frozenset(k.get("scopes", ())),
                    )
                    for k in _read(self.path)
                ]
                self._stamp = stamp
            return self._keys

    def verify(self, presented: str) -> Principal | None:
        """The principal of a key, or None for an unknown key.

        Every stored key is compared, without early exit, so timing does not tell how
        many keys exist or which one nearly matched.
        """
        found: Principal | None = None
        for key_id, salt, digest, scopes in self._load():
            if hmac.compare_digest(_digest(salt, presented), digest) and found is None:
                found = Principal(key_id=key_id, scopes=scopes)
        return found


def bootstrap_admin_key(path: Path) -> str | None:
    """Create one all-scope key when no keys file exists (demo start); None otherwise."""
    if path.exists():
        return None
    return create_key(path, "admin", SCOPES)
