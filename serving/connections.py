"""uvicorn's HTTP protocol with a header deadline and a connection cap per client address.

uvicorn (0.54) has a keep-alive timeout and a global concurrency cap (``limit_concurrency``:
a 503 to requests past it), but no timeout on reading a request's headers: a client that
sends them a byte at a time holds its connection, and a file descriptor, for ever. A few
thousand such clients (slowloris) exhaust the process's open files, and new connections,
``/healthz`` included, are no longer accepted; the global cap does not help, as it counts
the slow connections too and answers everyone else 503.

:class:`GuardedProtocol` is uvicorn's own protocol (httptools when installed, else h11) with:

- a deadline on each request's headers: ``header_timeout_s`` from the connection (or from
  the first byte of a next request on a kept-alive connection) until the headers are
  complete; past it the connection is closed;
- a cap on the connections one client address holds (``max_connections_per_client``): a
  connection past it is closed at once, before it costs anything.

Bodies are not timed here (an upload on a slow link may take minutes): the reverse proxy of
a deployment (``docs/deploy.md``) buffers and times them.
"""

from __future__ import annotations

import asyncio
import weakref
from collections import Counter
from typing import Any, ClassVar, cast

from uvicorn.protocols.http.auto import AutoHTTPProtocol

from models.settings import Settings, get_settings

# The connections per client address, per server (several servers may share a process).
_PER_CLIENT: weakref.WeakKeyDictionary[Any, Counter[str]] = weakref.WeakKeyDictionary()
_Base = cast(Any, AutoHTTPProtocol)


class GuardedProtocol(_Base):  # type: ignore[misc,valid-type]
    """uvicorn's HTTP protocol with a header deadline and a per-client connection cap.

    ``flrisk serve`` names it by its import path; its limits come from the settings of the
    environment, as the app's do. :func:`guarded_protocol` binds other settings (tests).
    """

    settings: ClassVar[Settings | None] = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        settings = self.settings or get_settings()
        self._header_timeout = settings.header_timeout_s
        self._per_client_cap = settings.max_connections_per_client
        self._deadline: asyncio.TimerHandle | None = None
        self._deadline_cycle: Any = None
        self._counted: str | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Count the connection against its address's cap; start its header deadline."""
        super().connection_made(transport)  # sets self.client
        address = self.client[0] if self.client else None
        if address is not None and self._per_client_cap > 0:
            counts = _PER_CLIENT.setdefault(self.server_state, Counter())
            if counts[address] >= self._per_client_cap:
                transport.close()
                return
            counts[address] += 1
            self._counted = address
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        """Release the address's slot and the deadline."""
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        if self._counted is not None:
            counts = _PER_CLIENT.get(self.server_state)
            if counts is not None:
                counts[self._counted] -= 1
                if counts[self._counted] <= 0:
                    del counts[self._counted]
            self._counted = None
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        """A first byte of a next request on a kept-alive connection starts a new deadline."""
        idle = self.cycle is None or self.cycle.response_complete
        if idle and self._deadline_cycle is not self.cycle:
            self._arm()
        super().data_received(data)

    def _arm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
        self._deadline_cycle = self.cycle
        self._deadline = self.loop.call_later(self._header_timeout, self._expire)

    def _expire(self) -> None:
        """Close the connection if no request's headers were completed since the deadline began.

        uvicorn makes a new request cycle once a request's headers are complete.
        """
        self._deadline = None
        if self.cycle is self._deadline_cycle and not self.transport.is_closing():
            self.transport.close()


def guarded_protocol(settings: Settings) -> type[asyncio.Protocol]:
    """:class:`GuardedProtocol` with the limits of ``settings`` (not the environment's)."""
    return type("GuardedProtocol", (GuardedProtocol,), {"settings": settings})
