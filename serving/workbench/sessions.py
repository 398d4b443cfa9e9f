"""Signed-in officers: sessions behind a random cookie, each with its CSRF token.

Sessions live in memory of the single serving process (``flrisk serve`` runs one worker):
a restart signs officers out.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from dataclasses import dataclass, field

from serving.auth import Principal

COOKIE = "flrisk_session"
PRE_COOKIE = "flrisk_signin"  # the sign-in form's one-time token (against login CSRF)
SESSION_IDLE_S = 8 * 3600  # one shift
SESSION_MAX_S = 12 * 3600
MAX_SESSIONS = 10_000


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
    """Random session ids -> sessions, with idle and absolute expiry."""

    def __init__(self) -> None:
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def create(self, who: Principal) -> Session:
        """A new session for a verified key."""
        s = Session(secrets.token_urlsafe(32), who.key_id, who.scopes, secrets.token_urlsafe(32))
        with self._lock:
            self._expire(time.time())
            if len(self._sessions) >= MAX_SESSIONS:  # bounded memory: drop the stalest
                oldest = min(self._sessions.values(), key=lambda x: x.seen)
                self._sessions.pop(oldest.sid, None)
            self._sessions[s.sid] = s
        return s

    def get(self, sid: str | None) -> Session | None:
        """The live session behind a cookie value, refreshed; None if unknown or expired."""
        if not sid:
            return None
        now = time.time()
        with self._lock:
            s = self._sessions.get(sid)
            if s is None:
                return None
            if now - s.seen > SESSION_IDLE_S or now - s.created > SESSION_MAX_S:
                self._sessions.pop(sid, None)
                return None
            s.seen = now
            return s

    def drop(self, sid: str) -> None:
        """Sign out."""
        with self._lock:
            self._sessions.pop(sid, None)

    def _expire(self, now: float) -> None:
        stale = [
            k
            for k, s in self._sessions.items()
            if now - s.seen > SESSION_IDLE_S or now - s.created > SESSION_MAX_S
        ]
        for k in stale:
            del self._sessions[k]
