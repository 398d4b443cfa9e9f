"""Where a ``POST /v1/score`` request spends its time, part by part.

The app runs on the registered model of the bench's simulated world; every request carries
lines it has never seen (1,000 by default), with 3 reasons each. Each part is timed by
wrapping the function that does it (``PARTS``); what no wrapper covers (FastAPI, the route's
own glue) is "other". Medians over the requests.

- default: the app in process (``TestClient``, one worker's code path);
- ``--http``: the app in its own uvicorn process (one worker, as ``bench/serve.py`` runs
  it), its parts timed there; the client's time less the server's is "HTTP (both ends)".

    .venv/bin/python bench/request_parts.py [--requests 12] [--lines 1000] [--http]

Writes ``bench/results/request_parts.json`` and prints the table that
``docs/performance.md`` records.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import importlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from _common import RESULTS, isolate, registered_champion, simulated

TREESHAP = "TreeSHAP"  # LightGBM's pred_contrib, or the scorer's tables
# (part, "module:object.attribute"): the function whose time is the part's. A name missing
# from the code (it moved) is reported, not silently skipped.
PARTS: tuple[tuple[str, str], ...] = (
    ("key check", "models.keys:KeyStore.verify"),
    ("rate limit", "serving.limits:RateLimiter.check"),
    ("body parsing", "serving.api.routes.score:score_lines_body"),
    ("tips revision", "models.tips:TipBook.index"),
    ("validation", "serving.api.routes.score:validate_request"),
    ("signals and features", "models.scoring.prepared:derive_signals"),
    ("signals and features", "models.scoring.prepared:build_features"),
    ("prediction", "lightgbm.basic:Booster.predict"),
    ("reason texts", "models.scoring.scorer:reasons_for"),
    ("response building", "serving.service:results"),
    ("response building", "serving.service:unknown_fields"),
    ("audit rows (hashes, JSON)", "models.audit_rows:AuditRows.scored"),
    ("audit write", "models.store.audit:AuditStore.record"),
    ("JSON encoding", "starlette.responses:JSONResponse.render"),
)
OPTIONAL_PARTS: tuple[tuple[str, str], ...] = (
    ("response building", "serving.service:response_lines"),
    ("JSON encoding", "serving.api.routes.score:compact"),
    ("reason texts", "models.scoring.scorer:reason_texts"),
    ("request lines as dicts", "serving.api.routes.score:request_inputs"),
    (TREESHAP, "models.scoring.scorer:Scorer.contributions"),
)


def _resolve(spec: str) -> tuple[Any, str] | None:
    module, _, path = spec.partition(":")
    try:
        owner: Any = importlib.import_module(module)
    except ImportError:
        return None
    *outer, attr = path.split(".")
    for name in outer:
        owner = getattr(owner, name, None)
        if owner is None:
            return None
    return (owner, attr) if hasattr(owner, attr) else None


@contextlib.contextmanager
def timed_parts(spent: dict[str, float]) -> Iterator[list[str]]:
    """Wrap each part's function to add its seconds to ``spent``; yields the missing specs."""
    undo: list[tuple[Any, str, Any]] = []
    missing: list[str] = []
    depth = [0]  # a part called inside another is counted once, by the outer

    def wrap(part: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        if getattr(fn, "__code__", None) is not None and fn.__code__.co_flags & 0x80:

            @functools.wraps(fn)
            async def awrapper(*a: Any, **kw: Any) -> Any:
                t0 = time.perf_counter()
                try:
                    return await fn(*a, **kw)
                finally:
                    spent[part] += time.perf_counter() - t0

            return awrapper

        @functools.wraps(fn)
        def wrapper(*a: Any, **kw: Any) -> Any:
            name = TREESHAP if kw.get("pred_contrib") else part
            depth[0] += 1
            t0 = time.perf_counter()
            try:
                return fn(*a, **kw)
            finally:
                depth[0] -= 1
                if depth[0] == 0:
                    spent[name] += time.perf_counter() - t0

        return wrapper

    for part, spec in (*PARTS, *OPTIONAL_PARTS):
        found = _resolve(spec)
        if found is None:
            if (part, spec) in PARTS:
                missing.append(spec)
            continue
        owner, attr = found
        original = owner.__dict__[attr] if isinstance(owner, type) else getattr(owner, attr)
        undo.append((owner, attr, original))
        setattr(owner, attr, wrap(part, getattr(owner, attr)))
    try:
        yield missing
    finally:
        for owner, attr, original in reversed(undo):
            setattr(owner, attr, original)


def order() -> list[str]:
    """The parts in the order of the table."""
    names = [p for p, _ in PARTS]
    names.insert(names.index("body parsing") + 1, "request lines as dicts")
    names.insert(names.index("prediction") + 1, TREESHAP)
    return list(dict.fromkeys(names))


def table(per_request: list[dict[str, float]], total: str, title: str) -> dict[str, Any]:
    """Print the medians of each part and what no part covers; return them (ms)."""
    parts = order()
    med = {p: 1000 * statistics.median(r.get(p, 0.0) for r in per_request) for p in parts}
    med_total = 1000 * statistics.median(r[total] for r in per_request)
    covered = [sum(r.get(p, 0.0) for p in parts) for r in per_request]
    other = 1000 * statistics.median(
        r["server"] - c for r, c in zip(per_request, covered, strict=True)
    )
    print(f"\n{title}, {len(per_request)} requests (medians)")
    print("| part | ms |\n|---|---|")
    for p in parts:
        print(f"| {p} | {med[p]:.2f} |")
    print(f"| other (FastAPI, route glue) | {other:.2f} |")
    out = {"median_ms": med, "other_ms": other}
    if total == "client":
        http = 1000 * statistics.median(r["client"] - r["server"] for r in per_request)
        print(f"| HTTP (uvicorn and the client, both ends) | {http:.2f} |")
        out["http_ms"] = http
    print(f"| **total, {total}** | **{med_total:.2f}** |")
    out["total_ms"] = med_total
    return out


def lines_for(sim: Path, need: int) -> list[dict[str, Any]]:
    """``need`` lines of the world's score file as JSON lines, never sent before."""
    from models.contract.reader import read_entry_lines
    from serving.service import frame_inputs

    frame = read_entry_lines(sim / "score.csv", allow_bad_rows=True).frame.head(need)
    return frame_inputs(frame)


def in_process(uri: str, data: Path, lines: list[dict[str, Any]], size: int) -> list[dict]:
    """Each request's parts with the app in process (``TestClient``)."""
    from fastapi.testclient import TestClient

    from models.settings import Settings
    from serving.app import create_app
    from serving.auth import create_key

    tmp = Path(tempfile.mkdtemp(prefix="flrisk-parts-"))
    key = create_key(tmp / "api_keys.json", "bench", ["score"])
    settings = Settings(
        data_dir=tmp, mlflow_tracking_uri=f"sqlite:///{data / 'mlflow.db'}",
        bootstrap_key=False, rate_limit_per_minute=1e9, rate_limit_burst=1_000_000,
    )  # fmt: skip
    app = create_app(settings, model_uri=uri)
    headers = {"Authorization": f"Bearer {key}", "content-type": "application/json"}
    per_request: list[dict[str, float]] = []
    with TestClient(app) as client:
        while client.get("/readyz").status_code != 200:  # the model loads in the background
            time.sleep(0.5)
        bodies = [
            json.dumps({"lines": lines[i : i + size], "reasons": 3}).encode()
            for i in range(0, len(lines), size)
        ]
        for body in bodies[:WARM]:  # warm-up: LightGBM, the reference tables, the store
            client.post("/v1/score", content=body, headers=headers).raise_for_status()
        for body in bodies[WARM:]:
            spent: dict[str, float] = defaultdict(float)
            with timed_parts(spent) as missing:
                t0 = time.perf_counter()
                r = client.post("/v1/score", content=body, headers=headers)
                spent["server"] = time.perf_counter() - t0
            r.raise_for_status()
            per_request.append(dict(spent))
    if missing:
        print("not found (moved?):", ", ".join(missing))
    return per_request


def serve_parts(port: int, uri: str, data: Path, out: Path) -> None:
    """The app in uvicorn with every part wrapped; one JSON line of parts per scored request.

    A request's server time runs from its first byte in the app to the last byte of its
    answer handed to uvicorn (background work after the answer is not counted).
    """
    import uvicorn

    from models.settings import Settings
    from serving.app import create_app

    settings = Settings(
        data_dir=out.parent, mlflow_tracking_uri=f"sqlite:///{data / 'mlflow.db'}",
        bootstrap_key=False, rate_limit_per_minute=1e9, rate_limit_burst=1_000_000,
    )  # fmt: skip
    app = create_app(settings, model_uri=uri)
    spent: dict[str, float] = defaultdict(float)
    stack = contextlib.ExitStack()
    missing = stack.enter_context(timed_parts(spent))
    if missing:
        print("not found (moved?):", ", ".join(missing), flush=True)

    async def recorder(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] != "/v1/score":
            await app(scope, receive, send)
            return
        spent.clear()
        t0 = time.perf_counter()

        async def timed_send(message: Any) -> None:
            if message["type"] == "http.response.body" and not message.get("more_body"):
                record = {**spent, "server": time.perf_counter() - t0}
                with out.open("a") as fh:
                    fh.write(json.dumps(record) + "\n")
            await send(message)

        await app(scope, receive, timed_send)

    uvicorn.run(recorder, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def over_http(uri: str, data: Path, lines: list[dict[str, Any]], size: int) -> list[dict]:
    """Each request's parts with the app in its own uvicorn process, timed there."""
    import httpx
    from serve import free_port, stop, wait_http

    from serving.auth import create_key

    tmp = Path(tempfile.mkdtemp(prefix="flrisk-parts-http-"))
    key = create_key(tmp / "api_keys.json", "bench", ["score"])
    out = tmp / "parts.jsonl"
    port = free_port()
    cmd = [sys.executable, __file__, "--serve-parts", str(port), "--parts-out", str(out),
           "--model-uri", uri]  # fmt: skip
    proc = subprocess.Popen(cmd, env={**os.environ, "FLRISK_DATA_DIR": str(tmp)})
    clients: list[float] = []
    try:
        wait_http(f"http://127.0.0.1:{port}/readyz", proc)
        url = f"http://127.0.0.1:{port}/v1/score"
        with httpx.Client(headers={"Authorization": f"Bearer {key}"}, timeout=120) as client:
            for n, i in enumerate(range(0, len(lines), size)):
                body = {"lines": lines[i : i + size], "reasons": 3}
                t0 = time.perf_counter()
                client.post(url, json=body).raise_for_status()
                if n >= WARM:
                    clients.append(time.perf_counter() - t0)
    finally:
        stop(proc)
    records = [json.loads(x) for x in out.read_text().splitlines()][WARM:]
    return [{**r, "client": c} for r, c in zip(records, clients, strict=True)]


WARM = 2  # requests before the measured ones (LightGBM, the reference tables, the store)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--requests", type=int, default=12)
    ap.add_argument("--lines", type=int, default=1000)
    ap.add_argument("--world", type=int, default=1_000_000, help="simulated lines")
    ap.add_argument("--http", action="store_true", help="over HTTP, the app in uvicorn")
    ap.add_argument("--serve-parts", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--parts-out", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--model-uri", help=argparse.SUPPRESS)
    args = ap.parse_args()
    data = isolate()
    if args.serve_parts:
        serve_parts(args.serve_parts, args.model_uri, data, args.parts_out)
        return
    sim = simulated(args.world)
    uri = registered_champion(sim)
    lines = lines_for(sim, args.lines * (args.requests + WARM))
    if args.http:
        per_request = over_http(uri, data, lines, args.lines)
    else:
        per_request = in_process(uri, data, lines, args.lines)
    where = "over HTTP (uvicorn, one worker)" if args.http else "in process"
    title = f"{args.lines:,}-line request, 3 reasons, {where}"
    res = table(per_request, "client" if args.http else "server", title)
    RESULTS.mkdir(parents=True, exist_ok=True)
    name = f"request_parts_{args.lines}{'_http' if args.http else ''}.json"
    res.update({"lines": args.lines, "requests": len(per_request), "cpus": os.cpu_count()})
    (RESULTS / name).write_text(json.dumps(res, indent=2) + "\n")


if __name__ == "__main__":
    main()
