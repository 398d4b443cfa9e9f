"""CPU time of a request's audit rows and write (``AuditRows.scored`` + ``AuditStore.record``).

First capture what the audit of real requests gets (the bench world's registered model, in
process, 1,000-line requests with 3 reasons), then time it with each code tree on
``PYTHONPATH``, in turns (A/B):

    FLRISK_BENCH_CACHE=/tmp/bench-main .venv/bin/python bench/audit_write.py --capture
    PYTHONPATH=<tree> .venv/bin/python bench/audit_write.py --lines 1000 --writes 30

1,000 lines or more: a fresh SQLite store per write (warmed by a one-line write), as a
request of a new store; fewer: one store written again and again, as a server's. CPU time
(``time.process_time``), minima and medians over the writes; the chain is verified at the end.
"""

from __future__ import annotations

import argparse
import gc
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

DEFAULT = Path(tempfile.gettempdir()) / "flrisk-audit-request.json"


def capture(out: Path) -> None:
    """Score requests in process and keep the last 1,000-line request's audit arguments."""
    import request_parts as rp
    from _common import isolate, registered_champion, simulated

    from models import audit_rows

    seen: list[dict[str, Any]] = []
    scored = audit_rows.AuditRows.scored

    def spy(self: Any, action: str, model: Any, inputs: Any, results: Any, latency: float) -> Any:
        seen.append({"model": [model.version, model.bundle_hash], "inputs": list(inputs),
                     "results": [dict(r) for r in results], "latency_ms": latency})  # fmt: skip
        return scored(self, action, model, inputs, results, latency)

    audit_rows.AuditRows.scored = spy  # type: ignore[method-assign,assignment]
    data = isolate()
    sim = simulated(1_000_000)
    rp.in_process(registered_champion(sim), data, rp.lines_for(sim, 4000), 1000)

    def plain(o: Any) -> Any:  # NumPy scalars kept as such (the audit sees them so)
        if isinstance(o, np.generic):
            return {"__np__": str(o.dtype), "v": o.item()}
        raise TypeError(type(o))

    out.write_text(json.dumps(seen[-1], default=plain))
    print(f"captured {len(seen[-1]['inputs'])} lines into {out}")


def timed(path: Path, lines: int, writes: int) -> dict[str, Any]:
    """Minima and medians (ms) of ``writes`` audits of ``lines`` captured lines."""
    from models.audit_rows import AuditRows, ModelStamp
    from models.store import AuditStore

    def numpy(d: dict[str, Any]) -> Any:
        return np.dtype(d["__np__"]).type(d["v"]) if "__np__" in d else d

    req = json.loads(path.read_text(), object_hook=numpy)
    inputs, results, model = req["inputs"], req["results"], ModelStamp(*req["model"])
    tmp = Path(tempfile.mkdtemp(prefix="flrisk-audit-write-"))
    fresh = lines >= 1000
    store: AuditStore | None = None
    rows_s, write_s = [], []
    for w in range(writes):
        if fresh or store is None:
            store = AuditStore(f"sqlite:///{tmp}/audit{w}.db")
            store.create()
            store.record(AuditRows("warm", "k").scored("score", model, inputs[:1], results[:1], 1))
        lo = (w * lines) % (len(inputs) - lines + 1)
        ins, res = inputs[lo : lo + lines], results[lo : lo + lines]
        gc.collect()
        gc.disable()
        t0 = time.process_time()
        rows = AuditRows(f"r{w}", "k").scored("score", model, ins, res, req["latency_ms"])
        t1 = time.process_time()
        store.record(rows)
        t2 = time.process_time()
        gc.enable()
        rows_s.append(t1 - t0)
        write_s.append(t2 - t1)
        if fresh:
            store.dispose()
    assert store is not None and store.verify().ok
    store.dispose()
    total = sorted(a + b for a, b in zip(rows_s, write_s, strict=True))
    return {
        "lines": lines, "writes": writes, "min_ms": round(1000 * total[0], 3),
        "median_ms": round(1000 * total[len(total) // 2], 3),
        "min_rows_ms": round(1000 * min(rows_s), 3), "min_write_ms": round(1000 * min(write_s), 3),
    }  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--capture", action="store_true", help="capture a request's audit first")
    ap.add_argument("--request", type=Path, default=DEFAULT, help="the captured request")
    ap.add_argument("--lines", type=int, default=1000)
    ap.add_argument("--writes", type=int, default=30)
    args = ap.parse_args()
    if args.capture:
        capture(args.request)
        return
    print(json.dumps(timed(args.request, args.lines, args.writes)))


if __name__ == "__main__":
    main()
