"""Defences before authentication, measured from outside against ``flrisk serve``.

Two attacks of issue 16, on a server started exactly as ``flrisk serve`` starts it (its
uvicorn options included), with no model (``/healthz`` and the 401s need none):

- ``bodies``: 4 keyless clients post a 9.2 MB JSON body to ``/v1/score``, each at most once a
  second (so the attackers load the shared machine alike whatever the server does), while
  ``/healthz`` is probed every 50 ms; reports the probes' p50/p95/max, the clients' answers,
  and the p50 of 40 probes just before (the machine's own latency at the time).
- ``slowloris``: N connections from ``127.0.0.2`` send a request's headers a byte at a time
  (one every few seconds, never finishing); then ``/healthz`` is probed 24 times from
  ``127.0.0.1`` (2 s timeout each); reports how many probes failed and how many slow
  connections the server still held at the end. The server runs with ``--nofile`` open files
  at most (default 1024, a common default limit), so N above it is the issue's 20,000 at a
  smaller scale.

Run::

    .venv/bin/python bench/edge.py [--slow 2000] [--nofile 1024] [--seconds 15]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def flrisk_serve(nofile: int) -> Iterator[str]:
    """``flrisk serve`` in a fresh data folder, its open files limited to ``nofile``."""
    port = _free_port()
    with tempfile.TemporaryDirectory(prefix="flrisk-edge-") as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("FLRISK_")}
        env.update(FLRISK_DATA_DIR=tmp, MLFLOW_TRACKING_URI=f"sqlite:///{tmp}/mlflow.db",
                   MLFLOW_DISABLE_TELEMETRY="true", PYTHONPATH=str(ROOT))  # fmt: skip

        def limit() -> None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

        cmd = [sys.executable, "-m", "pipelines.cli", "serve", "--port", str(port)]
        with open(Path(tmp) / "server.log", "wb") as log:
            proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=log, stderr=log,
                                    preexec_fn=limit)  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 120
            while True:
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                        break
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError((Path(tmp) / "server.log").read_text()[-3000:])
                time.sleep(0.2)
            yield url
        finally:
            proc.kill()
            proc.wait()


def big_body(target_bytes: int = 9_200_000) -> bytes:
    """A score request of ``target_bytes`` made of many small lines (costly to parse)."""
    line = {"entry_id": "E-0000001", "line_no": 1, "entry_date": "2024-03-14",
            "hts_code": "6109.10.0012", "country_of_origin": "CN",
            "manufacturer_name": "SOME MANUFACTURER CO LTD", "declared_value_usd": 1234.5,
            "goods_description": "MENS KNIT COTTON T-SHIRTS", "quantity": 100}  # fmt: skip
    one = len(json.dumps(line)) + 2
    body = json.dumps({"lines": [line] * (target_bytes // one)}).encode()
    return body


def probe(url: str, timeout: float) -> float | None:
    """Seconds ``/healthz`` took on a fresh connection, None when it failed."""
    t0 = time.perf_counter()
    try:
        with httpx.Client(timeout=timeout) as c:
            ok = c.get(f"{url}/healthz").status_code == 200
    except httpx.HTTPError:
        return None
    return time.perf_counter() - t0 if ok else None


def bodies(url: str, seconds: float, clients: int = 4) -> dict[str, Any]:
    """``clients`` keyless big-body posters against ``/healthz`` probes."""
    body = big_body()
    idle = [x for x in (probe(url, 10) for _ in range(40)) if x is not None]
    stop = threading.Event()
    answers: Counter[str] = Counter()

    def poster() -> None:  # one request a second at most: the same load on either server
        next_at = time.monotonic()
        with httpx.Client(timeout=60) as c:
            while not stop.wait(max(0.0, next_at - time.monotonic())):
                next_at = time.monotonic() + 1.0
                try:
                    r = c.post(f"{url}/v1/score", content=body,
                               headers={"Content-Type": "application/json"})  # fmt: skip
                    answers[str(r.status_code)] += 1
                except httpx.HTTPError as exc:
                    answers[type(exc).__name__] += 1

    threads = [threading.Thread(target=poster, daemon=True) for _ in range(clients)]
    for t in threads:
        t.start()
    time.sleep(1.0)
    lat: list[float] = []
    failed = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        took = probe(url, 10)
        if took is None:
            failed += 1
        else:
            lat.append(took)
        time.sleep(0.05)
    stop.set()
    for t in threads:
        t.join(timeout=60)
    ms = np.asarray(lat) * 1000 if lat else np.asarray([float("nan")])
    return {"body_mb": round(len(body) / 1e6, 1), "probes": len(lat) + failed,
            "probes_failed": failed, "healthz_p50_ms": round(float(np.median(ms)), 1),
            "healthz_p95_ms": round(float(np.percentile(ms, 95)), 1),
            "healthz_max_ms": round(float(ms.max()), 1), "answers": dict(answers),
            "healthz_p50_ms_no_attack": round(float(np.median(idle)) * 1000, 1)}  # fmt: skip


def slowloris(url: str, n: int, hold_s: float) -> dict[str, Any]:
    """``n`` never-finishing requests from 127.0.0.2, then 24 ``/healthz`` probes."""
    port = int(url.rsplit(":", 1)[1])
    socks: list[socket.socket] = []
    refused = 0
    for _ in range(n):
        s = socket.socket()
        s.settimeout(1.0)
        try:
            s.bind(("127.0.0.2", 0))
            s.connect(("127.0.0.1", port))
            s.sendall(b"POST /v1/score HTTP/1.1\r\nHost: x\r\n")
            socks.append(s)
        except OSError:
            refused += 1
            s.close()
    stop = threading.Event()

    def trickle() -> None:  # one header byte per connection every few seconds
        while not stop.wait(3.0):
            for s in socks:
                with contextlib.suppress(OSError):
                    s.send(b"X")

    t = threading.Thread(target=trickle, daemon=True)
    t.start()
    time.sleep(hold_s)
    took = [probe(url, 2.0) for _ in range(24)]
    stop.set()
    t.join()
    open_at_end = 0
    for s in socks:
        try:
            s.setblocking(False)
            alive = s.recv(1, socket.MSG_PEEK) != b""  # b"": the server closed it
        except BlockingIOError:
            alive = True
        except OSError:
            alive = False
        open_at_end += alive
        s.close()
    ok = [x for x in took if x is not None]
    return {"slow_connections": n, "connect_failed": refused, "probes": 24,
            "probes_failed": 24 - len(ok),
            "healthz_p50_ms": round(float(np.median(ok)) * 1000, 1) if ok else None,
            "slow_still_open_at_end": open_at_end}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--slow", type=int, default=2000, help="slow connections")
    parser.add_argument("--nofile", type=int, default=1024, help="server's open-file limit")
    parser.add_argument("--seconds", type=float, default=15.0, help="big-body phase length")
    parser.add_argument("--hold", type=float, default=15.0, help="slowloris hold before probes")
    parser.add_argument("--only", choices=["bodies", "slowloris"], help="one attack only")
    args = parser.parse_args()
    out: dict[str, Any] = {}
    if args.only in (None, "bodies"):
        with flrisk_serve(args.nofile) as url:
            out["bodies"] = bodies(url, args.seconds)
            print(json.dumps(out["bodies"]), flush=True)
    if args.only in (None, "slowloris"):
        with flrisk_serve(args.nofile) as url:
            out["slowloris"] = slowloris(url, args.slow, args.hold)
            print(json.dumps(out["slowloris"]), flush=True)


if __name__ == "__main__":
    main()
