"""Where a 1,000-line ``POST /v1/score`` request spends its time, part by part.

The app runs in process (``TestClient``, one worker's code path) on the registered model of
the bench's simulated world; every request carries 1,000 lines it has never seen, with 3
reasons each. Each part is timed by wrapping the function that does it (``PARTS``); what no
wrapper covers (FastAPI, the route's own glue) is "other". Medians over the requests.

    .venv/bin/python bench/request_parts.py [--requests 12] [--lines 1000]

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
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from _common import RESULTS, isolate, registered_champion, simulated

# (part, "module:object.attribute"): the function whose time is the part's. A name missing
# from the code (it moved) is reported, not silently skipped.
PARTS: tuple[tuple[str, str], ...] = (
    ("body parsing", "serving.api.routes.score:json_body"),
    ("validation", "serving.api.routes.score:validate_request"),
    ("signals and features", "models.scoring.scorer:derive_signals"),
    ("signals and features", "models.scoring.scorer:build_features"),
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
)
TREESHAP = "TreeSHAP (pred_contrib)"


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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--requests", type=int, default=12)
    ap.add_argument("--lines", type=int, default=1000)
    ap.add_argument("--world", type=int, default=1_000_000, help="simulated lines")
    args = ap.parse_args()
    data = isolate()
    sim = simulated(args.world)
    uri = registered_champion(sim)

    from fastapi.testclient import TestClient

    from models.contract.reader import read_entry_lines
    from models.settings import Settings
    from serving.app import create_app
    from serving.auth import create_key
    from serving.service import frame_inputs

    need = args.lines * (args.requests + 2)
    frame = read_entry_lines(sim / "score.csv", allow_bad_rows=True).frame.head(need)
    lines = frame_inputs(frame)
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
            json.dumps({"lines": lines[i : i + args.lines], "reasons": 3}).encode()
            for i in range(0, need, args.lines)
        ]
        for body in bodies[:2]:  # warm-up: LightGBM, the reference tables, the store
            client.post("/v1/score", content=body, headers=headers).raise_for_status()
        for body in bodies[2:]:
            spent: dict[str, float] = defaultdict(float)
            with timed_parts(spent) as missing:
                t0 = time.perf_counter()
                r = client.post("/v1/score", content=body, headers=headers)
                total = time.perf_counter() - t0
            r.raise_for_status()
            spent["total (in process)"] = total
            per_request.append(dict(spent))
    names = [p for p, _ in PARTS]
    names.insert(names.index("prediction") + 1, TREESHAP)
    order = list(dict.fromkeys(names))
    med = {p: 1000 * statistics.median(r.get(p, 0.0) for r in per_request) for p in order}
    med_total = 1000 * statistics.median(r["total (in process)"] for r in per_request)
    covered = [sum(r.get(p, 0.0) for p in order) for r in per_request]
    other = 1000 * statistics.median(
        r["total (in process)"] - c for r, c in zip(per_request, covered, strict=True)
    )
    print(f"\n{args.lines:,}-line request, 3 reasons, {len(per_request)} requests (medians)")
    print("| part | ms |\n|---|---|")
    for p in order:
        print(f"| {p} | {med[p]:.1f} |")
    print(f"| other (FastAPI, route glue) | {other:.1f} |")
    print(f"| **total, in process** | **{med_total:.1f}** |")
    if missing:
        print("not found (moved?):", ", ".join(missing))
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = {"lines": args.lines, "requests": len(per_request), "median_ms": med,
           "other_ms": other, "total_ms": med_total, "cpus": os.cpu_count()}  # fmt: skip
    (RESULTS / "request_parts.json").write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
