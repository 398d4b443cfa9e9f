"""Failed authentication per client address: throttled (429), and audited in summary.

A wrong API key (``/v1``) or a failed workbench sign-in takes a token from its address's
bucket; an address with no token left is refused (429 with ``Retry-After``) before its next
key is even looked at, until the bucket refills. A valid key takes nothing, so an officer who
mistypes a key once is never slowed down.

Failures are audited, but never one row per failure: an unauthenticated client could
otherwise fill the audit store. Each address (and way in: ``api`` or ``workbench``) gets at
most one row per ``audit_interval_s``, which counts the failures since its previous row.
:meth:`FailureThrottle.failed` says when a row is due; :meth:`FailureThrottle.drain` hands
over the counts still pending (the app drains every interval and at shutdown).

The state is in process memory, as the per-key rate limiter's: a cache that protects the
server, not a record (the audit rows are the record). Rows and memory are bounded whatever
the number of addresses: past ``rows_per_interval`` rows in an interval, and past
``max_addresses`` tracked addresses (idle ones are forgotten first), failures are folded into
one ``*`` summary per way in.
"""

from __future__ import annotations

import ipaddress
import logging
import threading
import time
import uuid
from dataclasses import dataclass, field

from sqlalchemy.exc import SQLAlchemyError

from models.audit_rows import AuditRow, AuditRows
from models.store import AuditStore, AuditUnavailableError, now_iso

log = logging.getLogger(__name__)

ACTIONS = {"api": "api_key_failed", "workbench": "workbench_signin_failed"}
OTHERS = "*"  # the address of failures folded together when too many addresses are tracked


def client_address(host: str | None) -> str:
    """The address a client is throttled by: its IPv4 address, or its IPv6 /64 network.

    One IPv6 host commonly holds a whole /64, so counting its addresses one by one would
    give it billions of buckets.
    """
    if not host:
        return "unknown"
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return host  # not an IP (a test client, a Unix socket): one bucket per name
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network(f"{ip}/64", strict=False))
    return str(ip)


@dataclass(frozen=True)
class FailureSummary:
    """Failures of one address and way in since its previous audit row.

    Attributes:
        address: The client address (or ``*``: addresses no longer tracked one by one).
        via: ``api`` (an API key) or ``workbench`` (a sign-in).
        failures: How many failures the row stands for.
        first: When the first of them happened (ISO 8601, UTC).
        last: When the last of them happened.
    """

    address: str
    via: str
    failures: int
    first: str
    last: str

    def audit_row(self, request_id: str) -> AuditRow:
        """The audit row of this summary (key ``-``: the caller is unknown)."""
        detail = {"address": self.address, "failures": self.failures,
                  "first": self.first, "last": self.last}  # fmt: skip
        return AuditRows(request_id, "-").event(ACTIONS[self.via], detail)


@dataclass
class _Pending:
    count: int = 0
    first: str = ""
    last: str = ""
    row_at: float = float("-inf")  # monotonic time of its last audit row


@dataclass
class _Address:
    tokens: float
    stamp: float
    pending: dict[str, _Pending] = field(default_factory=dict)


class FailureThrottle:
    """Token bucket of failures per client address, with rate-limited audit summaries.

    Args:
        per_minute: Failures an address may make per minute, once its burst is spent.
        burst: Failures an address may make at once.
        audit_interval_s: At most one audit row per address and way in per this many s.
        rows_per_interval: Audit rows per interval for all addresses together; past it,
            failures are folded into the ``*`` summary (many addresses at once).
        max_addresses: Addresses tracked one by one at most.
    """

    def __init__(
        self, per_minute: float, burst: int, audit_interval_s: float = 60.0,
        rows_per_interval: int = 100, max_addresses: int = 100_000,
    ) -> None:  # fmt: skip
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self.audit_interval_s = audit_interval_s
        self.rows_per_interval = rows_per_interval
        self.max_addresses = max_addresses
        self._addresses: dict[str, _Address] = {}
        self._others: dict[str, _Pending] = {}
        self._window = (float("-inf"), 0)  # start of the rows budget's interval, rows taken
        self._lock = threading.Lock()

    def _refill(self, entry: _Address, now: float) -> None:
        entry.tokens = min(self.burst, entry.tokens + (now - entry.stamp) * self.rate)
        entry.stamp = now

    def wait(self, address: str) -> float:
        """Seconds until ``address`` may try a key again; 0 when it may now."""
        now = time.monotonic()
        with self._lock:
            entry = self._addresses.get(address)
            if entry is None:
                return 0.0
            self._refill(entry, now)
            return 0.0 if entry.tokens >= 1.0 else (1.0 - entry.tokens) / self.rate

    def failed(self, address: str, via: str) -> FailureSummary | None:
        """Count a failure; return the summary to audit when the address's row is due.

        Args:
            address: :func:`client_address` of the caller.
            via: ``api`` or ``workbench``.

        Returns:
            The failures since the address's previous row (this one included) when a row
            is due now, else None (the failure is counted in the next row).
        """
        now, stamp = time.monotonic(), now_iso()
        with self._lock:
            entry = self._addresses.pop(address, None)  # re-inserted last: the newest
            if entry is None:
                entry = _Address(self.burst, now)
                self._bound()
            self._addresses[address] = entry
            self._refill(entry, now)
            entry.tokens = max(0.0, entry.tokens - 1.0)
            pending = entry.pending.setdefault(via, _Pending())
            pending.count += 1
            pending.first = pending.first or stamp
            pending.last = stamp
            if now - pending.row_at < self.audit_interval_s:
                return None
            return self._take_within_budget(address, via, pending, now)

    def drain(self, *, everything: bool = False) -> list[FailureSummary]:
        """Summaries of pending failures whose row is due (all of them with ``everything``)."""
        now = time.monotonic()
        out: list[FailureSummary] = []
        with self._lock:
            for address, entry in self._addresses.items():
                for via, pending in entry.pending.items():
                    due = everything or now - pending.row_at >= self.audit_interval_s
                    if pending.count and due:
                        summary = self._take_within_budget(address, via, pending, now)
                        out += [summary] if summary else []
            for via, pending in self._others.items():
                if pending.count:
                    out.append(self._take(OTHERS, via, pending, now))
            self._forget_idle(now)
        return out

    def _take_within_budget(
        self, address: str, via: str, pending: _Pending, now: float
    ) -> FailureSummary | None:
        """The address's summary if the rows budget allows; else folded into ``*``."""
        start, taken = self._window
        if now - start >= self.audit_interval_s:
            start, taken = now, 0
        if taken < self.rows_per_interval:
            self._window = (start, taken + 1)
            return self._take(address, via, pending, now)
        self._window = (start, taken)
        self._fold(via, pending)
        pending.row_at = now
        return None

    def _fold(self, via: str, pending: _Pending) -> None:
        folded = self._others.setdefault(via, _Pending())
        folded.count += pending.count
        folded.first = folded.first or pending.first
        folded.last = pending.last
        pending.count, pending.first, pending.last = 0, "", ""

    def _take(self, address: str, via: str, pending: _Pending, now: float) -> FailureSummary:
        summary = FailureSummary(address, via, pending.count, pending.first, pending.last)
        pending.count, pending.first, pending.last, pending.row_at = 0, "", "", now
        return summary

    def _forget_idle(self, now: float) -> None:
        """Drop addresses whose bucket is full again and whose rows are all written."""
        for address in [
            a for a, e in self._addresses.items()
            if e.tokens + (now - e.stamp) * self.rate >= self.burst
            and not any(p.count for p in e.pending.values())
            and all(now - p.row_at >= self.audit_interval_s for p in e.pending.values())
        ]:  # fmt: skip
            del self._addresses[address]

    def _bound(self) -> None:
        """Keep at most ``max_addresses``: forget idle ones, then fold the oldest into ``*``."""
        if len(self._addresses) < self.max_addresses:
            return
        now = time.monotonic()
        self._forget_idle(now)
        while len(self._addresses) >= self.max_addresses:
            oldest = next(iter(self._addresses))
            for via, pending in self._addresses.pop(oldest).pending.items():
                if pending.count:
                    self._fold(via, pending)

    def __len__(self) -> int:
        """Addresses tracked one by one."""
        return len(self._addresses)


def audit_failures(store: AuditStore, summaries: list[FailureSummary]) -> None:
    """Write the summaries' audit rows; a store that fails is logged, never raised.

    The caller is refused either way: an audit store that is down must not turn a 401 into
    a 503, nor let the refusal through.
    """
    if not summaries:
        return
    try:
        store.record([s.audit_row(uuid.uuid4().hex) for s in summaries])
    except (AuditUnavailableError, SQLAlchemyError, OSError) as exc:
        log.warning("failed-authentication summary not audited: %s", type(exc).__name__)
