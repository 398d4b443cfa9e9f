"""API keys with scopes, stored hashed in a JSON file and compared in constant time.

A key is 32 random bytes (URL-safe text prefixed ``flr_``). Only ``sha256(salt || key)`` and
the salt are stored, so the file does not reveal keys. Because keys are high-entropy, a
salted SHA-256 is enough (no slow KDF needed to resist guessing), and it keeps the check
cheap on every request. The file is re-read when it changes, so keys added or revoked with
``flrisk keys`` take effect on a running server's next request, without a restart.

Both sides use this module: ``flrisk keys`` (create, list, revoke) and the server, which
verifies presented keys (``serving/auth.py`` re-exports what it needs).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import re
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from models.errors import UserError

# ``check``: importers' keys, for the supplier self-check (``/v1/check``, ``/check``) only.
SCOPES: tuple[str, ...] = (
    "score", "batch", "feedback", "admin", "tips", "cases", "parties", "alerts", "partner",
    "check",
)  # fmt: skip
KEY_PREFIX = "flr_"
# A key's name is written to every audit row it causes (a 64-character column).
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
REF_LEN = 8


@dataclass(frozen=True)
class Principal:
    """The caller behind a valid key."""

    key_id: str
    scopes: frozenset[str]


@dataclass(frozen=True)
class KeyInfo:
    """What may be shown about a stored key: never the key, never its hash.

    Attributes:
        name: Who holds it (the ``key_id`` of audit rows).
        ref: A short reference that tells keys apart (the start of the salted hash).
        scopes: What it may do.
        created: When it was created (UTC, ISO 8601).
        revoked: When it was revoked, or None while it is active.
    """

    name: str
    ref: str
    scopes: tuple[str, ...]
    created: str
    revoked: str | None


class KeyFileError(UserError, RuntimeError):
    """The keys file exists but cannot be read as a keys file."""

    hint = (
        "The keys file is JSON written by flrisk (FLRISK_API_KEYS_FILE; default: "
        "api_keys.json in the data folder): restore it, or move it away and create new keys "
        "with `flrisk keys create`."
    )


class KeyRequestError(UserError, ValueError):
    """A key cannot be created or revoked as asked (unknown scope, name taken, no such key)."""

    hint = "`flrisk keys list` shows the keys by name and reference."


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


def _write(path: Path, keys: list[dict[str, Any]]) -> None:
    """Replace the keys file: owner-only, written then renamed (a reader never sees half)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump({"keys": keys}, fh, indent=2)
    tmp.replace(path)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Serialise read-modify-write of the keys file between processes (where flock exists).

    The lock is taken on the file's folder: the file itself is replaced on every write, and
    a lock file beside it would be one more file to leave behind.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def _info(k: dict[str, Any]) -> KeyInfo:
    return KeyInfo(
        name=str(k["id"]),
        ref=str(k["sha256"])[:REF_LEN],
        scopes=tuple(k.get("scopes", ())),
        created=str(k.get("created", "")),
        revoked=k.get("revoked"),
    )


def create_key(path: Path, key_id: str, scopes: list[str] | tuple[str, ...]) -> str:
    """Add a key to the keys file (created if absent) and return its plaintext, once.

    Args:
        path: The keys file (``settings.keys_path()``).
        key_id: A name for the key (who holds it); must be new, even among revoked keys
            (audit rows name the key by it).
        scopes: A non-empty subset of ``score``, ``batch``, ``feedback``, ``admin``, ``check``.

    Returns:
        The key; only its salted hash is stored.

    Raises:
        KeyRequestError: Unknown or no scope, a malformed name or one already used. Also a
            ``ValueError``.
        KeyFileError: The keys file exists but cannot be read.
    """
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown:
        raise KeyRequestError(
            f"unknown scope(s) {unknown}; known: {list(SCOPES)}",
            "Pass one --scope per scope, e.g. --scope score --scope batch.",
        )
    if not scopes:
        raise KeyRequestError(
            "a key needs at least one scope",
            f"Pass one --scope per scope ({', '.join(SCOPES)}), e.g. --scope score.",
        )
    if not NAME.match(key_id):
        raise KeyRequestError(
            f"{key_id!r} is not a key name",
            "Use up to 64 letters, digits and . _ @ - (starting with a letter or digit).",
        )
    with _locked(path):
        keys = _read(path) if path.exists() else []
        if any(k.get("id") == key_id for k in keys):
            raise KeyRequestError(
                f"key id {key_id!r} already exists",
                "Names are never reused (audit rows name keys by them): pick another name; "
                "`flrisk keys list` shows the names taken.",
            )
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
        _write(path, keys)
    return plaintext


def list_keys(path: Path) -> list[KeyInfo]:
    """Every key of the file, active and revoked, oldest first; no secret is returned."""
    return [_info(k) for k in _read(path)] if path.exists() else []


def revoke_key(path: Path, name_or_ref: str) -> KeyInfo:
    """Revoke one key, by name or by reference; a running server refuses it from its next request.

    The entry stays in the file, marked revoked with the time, so the name is never given to
    another key and ``keys list`` still shows who held it.

    Raises:
        KeyRequestError: No key has that name or reference, several share the reference, or it is
            already revoked.
    """
    with _locked(path):
        keys = _read(path) if path.exists() else []
        hits = [k for k in keys if k.get("id") == name_or_ref]
        if not hits and len(name_or_ref) >= 4:
            hits = [k for k in keys if str(k.get("sha256", "")).startswith(name_or_ref)]
        if not hits:
            raise KeyRequestError(f"no key named or referenced {name_or_ref!r} in {path}")
        if len(hits) > 1:
            raise KeyRequestError(
                f"{len(hits)} keys start with the reference {name_or_ref!r}",
                "Give the key's name, or more characters of its reference.",
            )
        (hit,) = hits
        if hit.get("revoked"):
            raise KeyRequestError(f"key {hit['id']!r} was already revoked on {hit['revoked']}", "")
        hit["revoked"] = datetime.now(UTC).isoformat(timespec="seconds")
        _write(path, keys)
    return _info(hit)


class KeyStore:
    """Verifies presented keys against the keys file (cached, re-read on change)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._stamp: tuple[int, int, int] | None = None
        self._keys: list[tuple[str, bytes, bytes, frozenset[str]]] = []

    def _load(self) -> list[tuple[str, bytes, bytes, frozenset[str]]]:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return []
        # The inode changes on every write (write then rename), so a rewrite of the same
        # size within the clock's resolution is still seen.
        stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
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
                    if not k.get("revoked")
                ]
                self._stamp = stamp
            return self._keys

    def verify(self, presented: str) -> Principal | None:
        """The principal of a key, or None for an unknown or revoked key.

        Every stored key is compared, without early exit, so timing does not tell how
        many keys exist or which one nearly matched.
        """
        found: Principal | None = None
        for key_id, salt, digest, scopes in self._load():
            if hmac.compare_digest(_digest(salt, presented), digest) and found is None:
                found = Principal(key_id=key_id, scopes=scopes)
        return found

    def is_active(self, key_id: str) -> bool:
        """Whether a key of that name exists and is not revoked (for signed-in sessions)."""
        return any(k[0] == key_id for k in self._load())


def bootstrap_admin_key(path: Path) -> str | None:
    """Create one all-scope key when no keys file exists (demo start); None otherwise."""
    if path.exists():
        return None
    return create_key(path, "admin", SCOPES)
