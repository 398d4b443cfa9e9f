"""Serving benchmark: flrisk API vs `mlflow models serve`, on one registered model.

Measures, for the same model and lines:

- in-process ``Scorer.score`` of one line with 3 reasons (p50; target <= 2 ms);
- the API over HTTP, one uvicorn worker: 1 line (p50/p99; targets 10/25 ms) and 1,000 lines
  with 3 reasons (p50; target <= 1 s); resident memory of the server (target <= 400 MB);
- the alternative a data scientist would take: ``mlflow models serve`` of the same registered
  pyfunc (``--env-manager local``, one worker), side by side and interleaved, on lines
  neither server had seen: 1 line with 3 reasons (the pyfunc's ``params={"reasons": 3}``;
  target: flrisk 5x faster at p50) and 1,000 lines, flrisk with 3 reasons each against
  MLflow's scores only (target: 1.5x faster); and its memory.

Run (after ``make train``, which registers ``flrisk@champion`` with its pyfunc)::

    .venv/bin/python bench/serve.py --model-uri models:/flrisk@champion \
        --tracking-uri sqlite:///$PWD/data/mlflow.db --data data/sim/score.csv

``--model-uri``/``--tracking-uri`` default to ``FLRISK_MODEL_URI``/``MLFLOW_TRACKING_URI``.
Results are printed with their ratio to target and PASS/FAIL, and written to
``bench/results/serve.json``. ``--skip-mlflow`` measures flrisk only. The targets are
measured on flrisk alone; the ratios to the alternative with both servers running side by side,
taking turns, so they hold when the machine drifts (``paired_`` keys; see :func:`compare`).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import psutil
from ceiling import BareServer, ceilings, core_ms, pyfunc_ms, stop

ROOT = Path(__file__).resolve().parents[1]
# How many times faster than the alternative, side by side (issue 23).
RATIO_TARGETS = {
    "http_1_p50_ms": ("1 line, 3 reasons each side, p50", 5.0),
    "http_1000_p50_ms": ("1,000 lines, 3 reasons (mlflow: scores only), p50", 1.5),
}
TARGETS = {"inproc_1_p50_ms": 2.0, "http_1_p50_ms": 10.0, "http_1_p99_ms": 25.0,
           "http_1000_p50_ms": 1000.0, "rss_mb": 400.0}  # fmt: skip


def pct(xs: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(xs), q))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and its children (mlflow serve forks workers)."""
    try:
        p = psutil.Process(pid)
        procs = [p, *p.children(recursive=True)]
        return sum(x.memory_info().rss for x in procs if x.is_running()) / 2**20
    except psutil.NoSuchProcess:
        return float("nan")


def wait_http(url: str, proc: subprocess.Popen[bytes], timeout: float = 900.0) -> None:
    t0 = time.time()
    while time.time() - t0 < timeout:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before {url} answered")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise TimeoutError(url)


def lines_json(frame: pd.DataFrame) -> list[dict[str, Any]]:
    from serving.service import frame_inputs

    return frame_inputs(frame)


def bench_inprocess(scorer: Any, lines: list[dict[str, Any]], n: int) -> dict[str, float]:
    """One line at a time through what the API runs in process for it.

    ``inproc_1``: ``Scorer.score`` with 3 reasons on a validated line (as the reader gives
    it), each line scored for the first time, so its names, addresses and goods are checked
    then. ``inproc_validate_1`` adds the contract validation of the line's JSON
    (``serving.service.validate_request``).
    """
    import gc

    from serving.service import validate_request

    passthrough = scorer.bundle.state.passthrough
    for i in range(20):  # warm the signal cache and LightGBM
        read = validate_request([lines[i]], passthrough)
        scorer.score(read.lines, 3)
    gc.freeze()  # as the server does once its model is loaded (serving/model_holder.py)
    score_ms, both_ms = [], []
    for i in range(20, 20 + n):
        t0 = time.perf_counter()
        read = validate_request([lines[i % len(lines)]], passthrough)
        t1 = time.perf_counter()
        scorer.score(read.lines, 3)
        t2 = time.perf_counter()
        score_ms.append((t2 - t1) * 1000)
        both_ms.append((t2 - t0) * 1000)
    return {"inproc_1_p50_ms": pct(score_ms, 50), "inproc_1_p99_ms": pct(score_ms, 99),
            "inproc_validate_1_p50_ms": pct(both_ms, 50)}  # fmt: skip


def time_posts(client: httpx.Client, url: str, bodies: list[Any], **kw: Any) -> list[float]:
    times = []
    for body in bodies:
        t0 = time.perf_counter()
        r = client.post(url, json=body, **kw)
        times.append((time.perf_counter() - t0) * 1000)
        r.raise_for_status()
    return times


class Flrisk:
    """The flrisk API in its own uvicorn process (one worker), and a client for it."""

    def __init__(self, model_uri: str, tracking: str, lines: list[dict[str, Any]]) -> None:
        from serving.auth import create_key

        tmp = Path(tempfile.mkdtemp(prefix="flrisk-bench-"))
        key = create_key(tmp / "api_keys.json", "bench", ["score"])
        port = free_port()
        env = {**os.environ, "FLRISK_DATA_DIR": str(tmp), "MLFLOW_TRACKING_URI": tracking,
               "FLRISK_BOOTSTRAP_KEY": "false", "FLRISK_RATE_LIMIT_PER_MINUTE": "1e9",
               "FLRISK_RATE_LIMIT_BURST": "1000000",
               "MLFLOW_DISABLE_TELEMETRY": "true"}  # fmt: skip
        code = ("import uvicorn; from serving.app import create_app; "
                f"uvicorn.run(create_app(model_uri={model_uri!r}), host='127.0.0.1', port={port}, "
                "workers=1, log_level='warning', access_log=False)")  # fmt: skip
        self.proc = subprocess.Popen([sys.executable, "-c", code], env=env, cwd=ROOT)
        self.ready = f"http://127.0.0.1:{port}/readyz"
        self.url = f"http://127.0.0.1:{port}/v1/score"
        self.lines = lines
        self.client = httpx.Client(headers={"Authorization": f"Bearer {key}"}, timeout=60)

    def wait(self) -> None:
        wait_http(self.ready, self.proc)

    def one(self, i: int) -> float:
        """Milliseconds to score line ``i`` with 3 reasons."""
        return time_posts(self.client, self.url, [{"lines": [self.line(i)], "reasons": 3}])[0]

    def thousand(self, start: int) -> float:
        """Milliseconds to score lines ``start`` to ``start + 999`` with 3 reasons."""
        body = {"lines": [self.line(i) for i in range(start, start + 1000)], "reasons": 3}
        return time_posts(self.client, self.url, [body])[0]

    def line(self, i: int) -> dict[str, Any]:
        return self.lines[i % len(self.lines)]

    def close(self) -> None:
        self.client.close()
        stop(self.proc)


class MlflowServe:
    """``mlflow models serve`` of the same registered pyfunc (``--env-manager local``, one
    worker): what a data scientist would otherwise run. One line is asked for with 3 reasons
    (``params={"reasons": 3}``, which the pyfunc honours); 1,000 lines with scores only, the
    cheapest answer MLflow can give."""

    def __init__(self, model_uri: str, tracking: str, lines: list[dict[str, Any]]) -> None:
        port = free_port()
        # mlflow serve execs `uvicorn` from PATH: make it this interpreter's.
        path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
        env = {**os.environ, "MLFLOW_TRACKING_URI": tracking, "MLFLOW_DISABLE_TELEMETRY": "true",
               "PATH": path}  # fmt: skip
        cmd = [sys.executable, "-m", "mlflow", "models", "serve", "-m", model_uri, "-p", str(port),
               "-h", "127.0.0.1", "--env-manager", "local", "-w", "1"]  # fmt: skip
        self.proc = subprocess.Popen(cmd, env=env, cwd=ROOT)
        try:
            self._setup(model_uri, lines, port)
        except BaseException:
            stop(self.proc)
            raise

    def _setup(self, model_uri: str, lines: list[dict[str, Any]], port: int) -> None:
        from mlflow.models import get_model_info

        # Send exactly the pyfunc signature's columns, as text; empty cells are unknown.
        signature = get_model_info(model_uri).signature
        names = signature.inputs.input_names() if signature is not None else None
        raw = pd.DataFrame(lines)
        raw = (raw.reindex(columns=names) if names else raw).fillna("").astype(str)
        if "inspected" in raw:  # the signature was inferred from training lines: labels included
            raw["inspected"] = "false"
        self.raw = raw
        self.ping = f"http://127.0.0.1:{port}/ping"
        self.url = f"http://127.0.0.1:{port}/invocations"
        self.client = httpx.Client(timeout=120)

    def wait(self) -> None:
        wait_http(self.ping, self.proc)

    def _timed(self, idx: list[int], reasons: int) -> float:
        body: dict[str, Any] = {
            "dataframe_split": self.raw.iloc[idx].to_dict(orient="split", index=False)
        }
        if reasons:
            body["params"] = {"reasons": reasons}
        t0 = time.perf_counter()
        r = self.client.post(self.url, json=body)
        ms = (time.perf_counter() - t0) * 1000
        if r.status_code != 200:
            raise RuntimeError(f"mlflow serve answered {r.status_code}: {r.text[:500]}")
        return ms

    def one(self, i: int) -> float:
        """Milliseconds to score line ``i`` with 3 reasons."""
        return self._timed([i % len(self.raw)], 3)

    def thousand(self, start: int) -> float:
        """Milliseconds to score lines ``start`` to ``start + 999``, scores only."""
        return self._timed([i % len(self.raw) for i in range(start, start + 1000)], 0)

    def close(self) -> None:
        self.client.close()
        stop(self.proc)


IDLE_S = 0.03  # the idle gap before each request of the idle comparison
BLOCK = 10  # requests per server in turn, in the steady comparison
BIG_REQUESTS = 10  # 1,000-line requests per measurement, each of new lines
CORE_FIRST = 1_000  # this process's lines for core_ms: after bench_inprocess's few hundred
PYFUNC_FIRST = CORE_FIRST + 1000 * BIG_REQUESTS  # and for the pyfunc in process, after those


def compare(
    flrisk: Flrisk, alt: MlflowServe, bare: BareServer | None, n: int, start: int
) -> dict[str, float]:
    """flrisk against the alternative, both running, on the same lines; two ways.

    - steady (``paired_``/``mlflow_`` keys): the servers take turns in blocks of ``BLOCK``
      requests, each block's first server alternating, so each is measured as under steady
      traffic while a slow spell of the machine (seconds to minutes on a shared VM) slows
      both alike;
    - idle (``paired_idle_``/``mlflow_idle_``): every request, to either server, arrives
      after ``IDLE_S`` of idleness, as from a screening system that is not hammering it.
      Waking costs this VM ~1 ms for any request and slows the next few milliseconds of
      work.

    Every line is new to both servers (from ``start`` on): neither has cached its values.
    In the steady turns a bare endpoint (``bench/ceiling.py``) gets flrisk's bodies too: the
    HTTP round trip alone (``floor_`` key).
    """
    servers: tuple[Flrisk | MlflowServe, ...] = (flrisk, alt)
    steady: tuple[list[float], list[float]] = ([], [])
    floor: list[float] = []
    for b, first in enumerate(range(start, start + n, BLOCK)):
        idx = range(first, min(first + BLOCK, start + n))
        for k in (0, 1) if b % 2 == 0 else (1, 0):
            steady[k].extend(servers[k].one(i) for i in idx)
        if bare is not None:
            floor.extend(bare.one_ms({"lines": [flrisk.line(i)], "reasons": 3}) for i in idx)
    idle: tuple[list[float], list[float]] = ([], [])
    for i in range(start + n, start + 2 * n):
        for k, server in enumerate(servers):
            time.sleep(IDLE_S)
            idle[k].append(server.one(i))
    firsts = [start + 2 * n + 1000 * j for j in range(BIG_REQUESTS)]
    # Interleaved, each pair's first server alternating; lines new to both.
    bigs = []
    for j, f in enumerate(firsts):
        if j % 2 == 0:
            mine = flrisk.thousand(f)
            bigs.append((mine, alt.thousand(f)))
        else:
            other = alt.thousand(f)
            bigs.append((flrisk.thousand(f), other))
    res: dict[str, float] = {"floor_http_1_p50_ms": pct(floor, 50)} if floor else {}
    for prefix, k in (("paired_", 0), ("mlflow_", 1)):
        res.update({f"{prefix}http_1_p50_ms": pct(steady[k], 50),
                    f"{prefix}http_1_p99_ms": pct(steady[k], 99),
                    f"{prefix}idle_http_1_p50_ms": pct(idle[k], 50),
                    f"{prefix}idle_http_1_p99_ms": pct(idle[k], 99),
                    f"{prefix}http_1000_p50_ms": pct([b[k] for b in bigs], 50)})  # fmt: skip
    return res


def _started(make: Any, why: str) -> Any:
    """``make()``'s server once it answers, or None (said, with ``why``) if it does not."""
    server = None
    try:
        server = make()
        server.wait()
        return server
    except Exception as exc:  # the figures that do not need it still count
        print(f"{why}: {exc!r}", flush=True)
        if server is not None:
            server.close()
        return None


def bench_http(
    model_uri: str, tracking: str, lines: list[dict[str, Any]], n: int, alternative: bool
) -> dict[str, float]:
    """flrisk over HTTP; with ``alternative``, also against mlflow serve (:func:`compare`).

    The targets are measured on flrisk alone, requests back to back.
    """
    flrisk = Flrisk(model_uri, tracking, lines)
    alt: MlflowServe | None = None
    bare: BareServer | None = None
    try:
        flrisk.wait()
        if alternative:
            alt = _started(
                lambda: MlflowServe(model_uri, tracking, lines),
                "alternative unavailable, flrisk measured alone",
            )
        if alt is not None:
            bare = _started(lambda: BareServer(free_port()), "no bare endpoint, no 1-line ceiling")
        for server in (flrisk, alt):
            if server is not None:
                for i in range(30):  # warm-up
                    server.one(i)
        one = [flrisk.one(i) for i in range(30, 30 + n)]
        # New lines for every request (a batch of lines already scored would find their
        # names and addresses cached).
        big = [flrisk.thousand(30 + n + 1000 * j) for j in range(BIG_REQUESTS)]
        res = {"http_1_p50_ms": pct(one, 50), "http_1_p99_ms": pct(one, 99),
               "http_1000_p50_ms": pct(big, 50),
               "rss_mb": tree_rss_mb(flrisk.proc.pid)}  # fmt: skip
        if alt is not None:
            res.update(compare(flrisk, alt, bare, n, 30 + n + 1000 * BIG_REQUESTS))
            res["mlflow_rss_mb"] = tree_rss_mb(alt.proc.pid)
    finally:
        for server in (flrisk, alt, bare):
            if server is not None:
                server.close()
    if alt is not None:
        # In this process once the servers have stopped (their work, such as flrisk's alert
        # loop, would slow it), on lines its own scorer has not seen.
        try:
            res.update(pyfunc_ms(model_uri, tracking, alt.raw, PYFUNC_FIRST, BIG_REQUESTS))
        except Exception as exc:
            print(f"the pyfunc in process could not be timed: {exc!r}", flush=True)
    return res


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--model-uri", default=os.environ.get("FLRISK_MODEL_URI", "models:/flrisk@champion")
    )
    ap.add_argument("--tracking-uri", default=os.environ.get("MLFLOW_TRACKING_URI"))
    ap.add_argument("--data", type=Path, default=ROOT / "data" / "sim" / "score.csv")
    ap.add_argument("--n", type=int, default=300, help="single-line requests per measurement")
    ap.add_argument("--skip-mlflow", action="store_true")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "serve.json")
    args = ap.parse_args()
    if args.n > CORE_FIRST - 20:  # bench_inprocess's lines must end before core_ms's begin
        ap.error(f"--n is at most {CORE_FIRST - 20}")
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

    from models.contract.reader import read_entry_lines
    from models.scoring.lookup import fetch_bundle, resolve
    from models.scoring.scorer import Scorer
    from models.settings import Settings

    settings = Settings(num_threads=int(os.environ.get("FLRISK_NUM_THREADS", "2")))
    if args.tracking_uri:
        settings = settings.model_copy(update={"mlflow_tracking_uri": args.tracking_uri})
    tracking = settings.tracking_uri()
    resolved = resolve(args.model_uri, settings)
    bundle = fetch_bundle(resolved, settings)
    read = read_entry_lines(args.data, allow_bad_rows=True)
    frame = read.frame.head(25_000).reset_index(drop=True)  # new lines for every request
    res: dict[str, Any] = {"model": resolved.uri, "lines_file": str(args.data), "n": args.n}
    lines = lines_json(frame)  # once for every measurement: ~1 s per 25,000 lines
    # Each measure takes lines no earlier one sent to the same scorer; fewer lines than
    # they need would wrap around to lines already seen.
    needed = max(PYFUNC_FIRST + 20 * (1 + BIG_REQUESTS) + 1000 * BIG_REQUESTS,
                 30 + 3 * args.n + 2000 * BIG_REQUESTS)  # fmt: skip
    if len(lines) < needed:
        ap.error(f"{args.data} has {len(lines):,} valid lines; this run needs {needed:,}")
    scorer = Scorer(bundle, version=resolved.uri)
    res.update(bench_inprocess(scorer, lines, args.n))
    res["core_1_p50_ms"] = res["inproc_validate_1_p50_ms"]
    res["core_1000_p50_ms"] = core_ms(scorer, lines, CORE_FIRST, 1000, BIG_REQUESTS)
    res.update(bench_http(resolved.uri, tracking, lines, args.n, not args.skip_mlflow))
    print(f"\nserving benchmark, {resolved.uri}")
    for k, target in TARGETS.items():
        v = res[k]
        verdict = "PASS" if v <= target else "FAIL"
        print(f"  {k:16s} {v:8.2f}  target {target:6.1f}  ratio {v / target:4.2f}  {verdict}")
    if "mlflow_http_1_p50_ms" in res:
        print("  side by side with `mlflow models serve` of the same model, interleaved:")
        for k, (what, goal) in RATIO_TARGETS.items():
            mine, alt = res["paired_" + k], res["mlflow_" + k]
            res[f"ratio_{k}"] = alt / mine
            verdict = "PASS" if alt / mine >= goal else "FAIL"
            print(f"  {what}: flrisk {mine:.2f} ms, mlflow {alt:.2f} ms: {alt / mine:.2f}x "
                  f"faster (target {goal}x) {verdict}")  # fmt: skip
        for q in ("p50", "p99"):
            mine, alt = res[f"paired_idle_http_1_{q}_ms"], res[f"mlflow_idle_http_1_{q}_ms"]
            print(f"  each request after {IDLE_S * 1000:.0f} ms idle, 1 line {q}: "
                  f"flrisk {mine:.2f} mlflow {alt:.2f} ({alt / mine:.1f}x)")  # fmt: skip
    if "mlflow_http_1_p50_ms" in res:
        res.update(ceilings(res))
        print(
            "  the best those ratios can be at today's scorer speed (bench/ceiling.py: validation"
        )
        print("  and scoring in process and nothing else; one line adds a bare uvicorn endpoint):")
        for k, (what, goal) in RATIO_TARGETS.items():
            if "ceiling_ratio_" + k in res:
                print(f"  {what}: at most {res['ceiling_ratio_' + k]:.2f}x (target {goal}x)")
        for size, what in (("1", "1 line"), ("1000", "1,000 lines")):
            if f"mlflow_own_{size}_ms" in res:
                print(f"  MLflow's own time ({what}: its p50 less the pyfunc's predict in "
                      f"process): {res[f'mlflow_own_{size}_ms']:.2f} ms")  # fmt: skip
    res["targets"] = TARGETS
    res["ratios_to_target"] = {k: res[k] / t for k, t in TARGETS.items()}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(res, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
