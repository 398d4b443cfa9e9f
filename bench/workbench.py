"""Workbench benchmark: a 50,000-line upload until its first worklist page is rendered.

What an officer waits for: the browser posts the day's CSV (multipart), the server reads it
with the contract reader, scores every line (reasons for the riskiest few only), ranks the
entries, writes the summary audit row and redirects; the first page is then rendered. The
target is under 3 s with the server pinned to 2 cores. The per-line audit rows are written
after the first page is sent and are not part of the figure (they are timed separately).

Run (after ``make train``)::

    .venv/bin/python bench/workbench.py --model-uri models:/flrisk@champion \
        --tracking-uri sqlite:///$PWD/data/mlflow.db --data data/sim/score.csv

Without ``--data`` a day is simulated. Lines are repeated (entry ids suffixed) up to
``--lines``. Writes ``bench/results/workbench.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
TARGET_S = 3.0
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def day_file(data: Path | None, lines: int, out: Path) -> Path:
    """``lines`` contract lines as CSV: the data file, repeated with suffixed entry ids."""
    if data is None:
        from pipelines.simulate import run

        run(out=out / "sim", lines=max(120_000, lines * 8), seed=11)
        data = out / "sim" / "score.csv"
    src = pd.read_csv(data, dtype=str, keep_default_na=False)
    parts, k = [], 0
    while sum(len(p) for p in parts) < lines:
        parts.append(src.assign(entry_id=src["entry_id"] + (f"-r{k}" if k else "")))
        k += 1
    day = pd.concat(parts, ignore_index=True).head(lines)
    path = out / "day.csv"
    day.to_csv(path, index=False)
    return path


def pin_two_cores() -> None:
    # The target is stated for 2 cores: pin the server there when the machine has more.
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) > 2:
        os.sched_setaffinity(0, set(cpus[:2]))


def start_server(
    tmp: Path, model_uri: str, tracking_uri: str
) -> tuple[subprocess.Popen[bytes], str, str]:
    from serving.auth import SCOPES, create_key

    keys = tmp / "keys.json"
    key = create_key(keys, "bench", SCOPES)
    port = free_port()
    env = {**os.environ, "FLRISK_DATA_DIR": str(tmp / "data"), "MLFLOW_TRACKING_URI": tracking_uri,
           "FLRISK_API_KEYS_FILE": str(keys), "FLRISK_BOOTSTRAP_KEY": "false",
           "FLRISK_NUM_THREADS": "2", "FLRISK_RATE_LIMIT_BURST": "1000",
           "MLFLOW_DISABLE_TELEMETRY": "true"}  # fmt: skip
    code = (
        "import uvicorn; from serving.app import create_app; "
        f"uvicorn.run(create_app(model_uri={model_uri!r}), host='127.0.0.1', port={port}, "
        "workers=1, log_level='warning', access_log=False)"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code], env=env, cwd=ROOT, preexec_fn=pin_two_cores
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 180
    while time.time() < deadline:
        try:
            if httpx.get(base + "/readyz", timeout=2).status_code == 200:
                return proc, base, key
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            raise RuntimeError("server exited")
        time.sleep(0.3)
    proc.kill()
    raise RuntimeError("server not ready in 180 s")


def one_run(c: httpx.Client, csrf: str, path: Path) -> dict[str, float]:
    body = path.read_bytes()
    t0 = time.perf_counter()
    r = c.post("/worklists/upload", data={"csrf_token": csrf},
               files={"file": (path.name, body, "text/csv")})  # fmt: skip
    t1 = time.perf_counter()
    if r.status_code != 303:
        raise RuntimeError(f"upload answered {r.status_code}: {r.text[:400]}")
    page = c.get(r.headers["location"])
    t2 = time.perf_counter()
    if page.status_code != 200 or 'table class="worklist"' not in page.text:
        raise RuntimeError(f"first page answered {page.status_code}")
    return {"upload_s": t1 - t0, "page_s": t2 - t1, "first_page_s": t2 - t0}


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--model-uri", default=os.environ.get("FLRISK_MODEL_URI", "models:/flrisk@champion")
    )
    ap.add_argument(
        "--tracking-uri",
        default=os.environ.get("MLFLOW_TRACKING_URI", f"sqlite:///{ROOT / 'data' / 'mlflow.db'}"),
    )
    ap.add_argument("--data", type=Path, default=None, help="Entry lines (CSV); default: simulate.")
    ap.add_argument("--lines", type=int, default=50_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "workbench.json")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="flrisk-bench-wb-") as t:
        tmp = Path(t)
        path = day_file(args.data, args.lines, tmp)
        size_mb = round(path.stat().st_size / 2**20, 1)
        proc, base, key = start_server(tmp, args.model_uri, args.tracking_uri)
        try:
            with httpx.Client(base_url=base, timeout=120) as c:
                page = c.get("/signin")
                token = CSRF.search(page.text).group(1)  # type: ignore[union-attr]
                r = c.post(
                    "/signin", data={"api_key": key, "csrf_token": token}, follow_redirects=True
                )
                csrf = CSRF.search(r.text).group(1)  # type: ignore[union-attr]
                runs: list[dict[str, float]] = []
                for _ in range(args.runs):
                    runs.append(one_run(c, csrf, path))
                    time.sleep(8)  # let the previous upload's per-line audit finish
        finally:
            proc.terminate()
            proc.wait(timeout=20)
    # Headline: the first upload after start (cold signal cache, as for a new day's new names);
    # later runs re-upload the same lines and hit the scorer's memo of distinct values.
    cold = runs[0]["first_page_s"]
    warm = statistics.median(x["first_page_s"] for x in runs[1:]) if len(runs) > 1 else cold
    result: dict[str, Any] = {
        "lines": args.lines, "mb": size_mb, "first_page_s": round(cold, 3), "target_s": TARGET_S,
        "ratio_to_target": round(cold / TARGET_S, 3), "warm_first_page_s": round(warm, 3),
        "upload_s": round(runs[0]["upload_s"], 3), "page_s": round(runs[0]["page_s"], 3),
        "runs": [{k: round(v, 3) for k, v in x.items()} for x in runs],
        "server_cpus": 2, "load_avg_1m": round(os.getloadavg()[0], 2), "model_uri": args.model_uri,
    }  # fmt: skip
    print(f"workbench: {args.lines:,}-line upload -> first page in {cold:.2f} s "
          f"(target {TARGET_S:.1f} s, ratio {cold / TARGET_S:.2f}); upload+score "
          f"{result['upload_s']:.2f} s, page {result['page_s']:.2f} s; same file again "
          f"{warm:.2f} s; load average {result['load_avg_1m']}")  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
