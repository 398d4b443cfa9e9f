"""Defences before authentication, against real servers (issue 16, rows 6 and 11).

No timed assertions: counters (body bytes the app was handed, connections the server still
holds) and generous timeouts that only a server which stopped answering would miss.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from reltools import live_server, make_settings, server_process

pytestmark = pytest.mark.integration


class BodyCounter:
    """ASGI wrapper counting the body bytes the app asked for."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.bytes = 0
        self.lock = threading.Lock()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        async def counted() -> Any:
            message = await receive()
            with self.lock:
                self.bytes += len(message.get("body", b""))
            return message

        await self.app(scope, counted, send)


def test_keyless_large_bodies_are_never_read_and_healthz_keeps_answering(
    tmp_path: Path,
) -> None:
    from serving.app import create_app

    settings = make_settings(tmp_path / "app", auth_failure_burst=10_000)
    app = BodyCounter(create_app(settings))
    body = json.dumps({"lines": [{"entry_id": "E-1", "line_no": 1}] * 270_000}).encode()
    assert 9_000_000 < len(body) < settings.max_json_bytes
    answers: list[Any] = []

    def poster() -> None:
        with httpx.Client(timeout=60) as c:
            for _ in range(3):
                try:
                    r = c.post(f"{url}/v1/score", content=body,
                               headers={"Content-Type": "application/json"})  # fmt: skip
                    answers.append(r.status_code)
                except httpx.HTTPError as exc:
                    answers.append(type(exc).__name__)

    with live_server(app) as url:
        threads = [threading.Thread(target=poster) for _ in range(4)]
        for t in threads:
            t.start()
        probes = []
        while any(t.is_alive() for t in threads) or len(probes) < 5:
            probes.append(httpx.get(f"{url}/healthz", timeout=10).status_code)
            time.sleep(0.05)
        for t in threads:
            t.join()
    assert set(probes) == {200}
    assert answers == [401] * 12, answers
    assert app.bytes == 0  # not one byte of the 110 MB (12 x 9 MB) reached the app


def _slow_connection(port: int, source: str) -> socket.socket:
    s = socket.socket()
    s.settimeout(5)
    s.bind((source, 0))
    s.connect(("127.0.0.1", port))
    s.sendall(b"POST /v1/score HTTP/1.1\r\nHost: x\r\nX-Slow: ")  # never finished
    return s


def _server_closed(s: socket.socket) -> bool:
    try:
        s.setblocking(False)
        return s.recv(1, socket.MSG_PEEK) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


def test_slow_connections_beyond_the_caps_do_not_stop_healthz(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "app")
    env = {"FLRISK_MAX_CONNECTIONS_PER_CLIENT": "32", "FLRISK_HEADER_TIMEOUT_S": "3"}
    # 400 slow connections against a server allowed 256 open files: without the caps the
    # server runs out of descriptors and accepts nothing more (the 20,000, scaled).
    with server_process(settings, ready=False, env=env, nofile=256) as server:
        port = int(server.url.rsplit(":", 1)[1])
        slow = []
        with contextlib.ExitStack() as stack:
            for _ in range(400):
                with contextlib.suppress(OSError):
                    slow.append(stack.enter_context(_slow_connection(port, "127.0.0.2")))
            probes = [httpx.get(f"{server.url}/healthz", timeout=10).status_code for _ in range(10)]
            held = sum(not _server_closed(s) for s in slow)
            assert probes == [200] * 10
            assert held <= 32, f"{held} slow connections held from one address"
            # The header deadline closes the rest (generous bound: 3 s deadline).
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and not all(_server_closed(s) for s in slow):
                time.sleep(0.5)
            assert all(_server_closed(s) for s in slow)
            assert httpx.get(f"{server.url}/healthz", timeout=10).status_code == 200
