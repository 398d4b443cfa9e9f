"""Signed-in officers: sessions behind a random cookie, each with its CSRF token.

Sessions are rows of the store (:class:`models.store.WorkbenchStore`), so they survive a
restart and every worker of a server sees the same ones; the store keeps only the SHA-256
of the cookie value. A session's last use is written at most once a minute (an officer
paging through a worklist does not write a row per page).
"""

from __future__ import annotations

import hmac
import secrets
import time
from dataclasses import dataclass, field

from models.store import WorkbenchStore
from models.store.workbench import sid_hash
from serving.auth import Principal

COOKIE = "flrisk_session"
PRE_COOKIE = "flrisk_signin"  # the sign-in form's one-time token (against login CSRF)
SESSION_IDLE_S = 8 * 3600  # one shift
SESSION_MAX_S = 12 * 3600
MAX_SESSIONS = 10_000
TOUCH_EVERY_S = 60.0  # how stale a session's "last seen" may get before it is rewritten


@dataclass
class Session:
    """One signed-in browser: which key it signed in with, and its CSRF token."""

    sid: str
    key_id: str
    scopes: frozenset[str]
    csrf: str
    created: float = field(default_factory=time.time)
    seen: float = field(default_factory=time.time)

    def check_csrf(self, token: str | None) -> bool:
        """Whether a form's token is this session's (constant-time)."""
        return bool(token) and hmac.compare_digest(str(token), self.csrf)


class SessionStore:
    """Random session ids -> sessions in the store, with idle and absolute expiry."""

    def __init__(self, db: WorkbenchStore) -> None:
        self._db = db

    def create(self, who: Principal) -> Session:
        """A new session for a verified key."""
        s = Session(secrets.token_urlsafe(32), who.key_id, who.scopes, secrets.token_urlsafe(32))
        self._db.expire_sessions(s.created - SESSION_IDLE_S, s.created - SESSION_MAX_S)
        row = {
            "sid_hash": sid_hash(s.sid), "key_id": s.key_id, "scopes": " ".join(sorted(s.scopes)),
            "csrf": s.csrf, "created": s.created, "seen": s.seen,
        }  # fmt: skip
        self._db.put_session(row, MAX_SESSIONS)
        return s

    def get(self, sid: str | None) -> Session | None:
        """The live session behind a cookie value, refreshed; None if unknown or expired."""
        if not sid:
            return None
        hashed = sid_hash(sid)
        row = self._db.session(hashed)
        if row is None:
            return None
        now = time.time()
        if now - row["seen"] > SESSION_IDLE_S or now - row["created"] > SESSION_MAX_S:
            self._db.drop_session(hashed)
            return None
        if now - row["seen"] > TOUCH_EVERY_S:
            self._db.touch_session(hashed, now)
            row["seen"] = now
        scopes = frozenset(str(row["scopes"]).split())
        return Session(
            sid, str(row["key_id"]), scopes, str(row["csrf"]), row["created"], row["seen"]
        )

    def drop(self, sid: str) -> None:
        """Sign out."""
        self._db.drop_session(sid_hash(sid))
