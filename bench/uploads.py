"""Uploads that hold more than their size says, sent to a real server: time and memory.

The attacks of issue #16 (rows 1 and 2) against ``POST /v1/score/file`` on one uvicorn
process: a Parquet file of a few hundred KB declaring 4,000,000 rows (one line repeated,
dictionary and run-length encoded), a CSV whose header has 1,000,000 columns, and, as a
yardstick, an ordinary upload (``--at-limit``: also a file of 1,000,000 rows, the most an
upload may hold, of one line repeated). For each: the status, seconds to the answer, and the
server's resident memory before and at its peak while the request ran (sampled every 5 ms).

    .venv/bin/python bench/uploads.py                   # this checkout
    .venv/bin/python bench/uploads.py --repo ../base --timeout 30   # another checkout (before)

``--repo`` runs the server from another checkout of the project (the same virtualenv), so
the figures before a change can be taken from its parent commit; a request still running
after ``--timeout`` seconds (or past ``--max-growth-mb``) is reported as such and the server
is stopped. The model is a tiny one trained in seconds: what is measured is the reading of
the upload, which happens before any line is scored. Results go to
``bench/results/uploads.json`` (this checkout only; ``bench/run_all.py`` shows them).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"


def _reltools() -> ModuleType:
    path = ROOT / "tests" / "reliability" / "reltools.py"
    spec = importlib.util.spec_from_file_location("flrisk_reltools", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["flrisk_reltools"] = module
    spec.loader.exec_module(module)
    return module


rt = _reltools()


def start_server(repo: Path, settings: Any, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {**rt.settings_env(settings), "PYTHONPATH": str(repo)}
    code = ("import uvicorn; from models.settings import Settings; "
            "from serving.app import create_app; "
            f"uvicorn.run(create_app(Settings()), host='127.0.0.1', port={port}, workers=1, "
            "log_level='warning', access_log=False)")  # fmt: skip
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-c", code], env=env, cwd=repo, stdout=out, stderr=out
        )


def post(
    url: str, key: str, name: str, path: Path, pid: int, timeout: float, max_growth_mb: float
) -> dict[str, Any]:
    """POST one file; status, seconds and memory (or how far it got before the cut-off)."""
    out: dict[str, Any] = {"file": name, "file_kb": round(path.stat().st_size / 1024)}
    result: dict[str, Any] = {}

    def send() -> None:
        try:
            with path.open("rb") as fh:
                r = httpx.post(url, files={"file": (name, fh)}, timeout=timeout + 60,
                               headers={"Authorization": f"Bearer {key}"})  # fmt: skip
            result["status"] = r.status_code
            result["detail"] = r.json().get("detail") if r.status_code != 200 else None
        except httpx.HTTPError as exc:
            result["status"] = f"no answer ({type(exc).__name__})"

    with rt.RssSampler(pid) as rss:
        t0 = time.perf_counter()
        thread = threading.Thread(target=send, daemon=True)
        thread.start()
        while thread.is_alive():
            thread.join(0.05)
            waited = time.perf_counter() - t0
            if waited > timeout or rss.peak - rss.before > max_growth_mb:
                result.setdefault("status", f"still running after {waited:.0f} s: stopped")
                break
        seconds = time.perf_counter() - t0
    out.update(
        status=result.get("status"), detail=result.get("detail"), seconds=round(seconds, 3),
        rss_before_mb=round(rss.before), rss_peak_mb=round(rss.peak),
        rss_growth_mb=round(rss.growth, 1),
    )  # fmt: skip
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repo", type=Path, default=ROOT, help="checkout to serve from")
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--max-growth-mb", type=float, default=4096.0)
    parser.add_argument("--rows", type=int, default=4_000_000)
    parser.add_argument("--columns", type=int, default=1_000_000)
    parser.add_argument(
        "--at-limit",
        action="store_true",
        help="also 1,000,000 rows of one line (the row limit: accepted)",
    )
    args = parser.parse_args()
    repo = args.repo.resolve()
    root = Path(tempfile.mkdtemp(prefix="flrisk-bench-uploads-"))
    settings = rt.make_settings(root / "app")
    rt.register(rt.helpers.train_bundle(), settings)
    keys = rt.add_keys(settings)
    files = {
        "ordinary.csv": root / "ordinary.csv",
        "expands.parquet": rt.expanding_parquet(root / "expands.parquet", rows=args.rows),
        "wide.csv": rt.wide_csv(root / "wide.csv", columns=args.columns),
    }
    if args.at_limit:  # accepted: what the largest upload allowed costs
        files["at-limit.parquet"] = rt.expanding_parquet(root / "limit.parquet", 1_000_000)
    lines = rt.helpers.make_lines(300, seed=9, labels=False)
    pd.DataFrame(lines).to_csv(files["ordinary.csv"], index=False)
    results: list[dict[str, Any]] = []
    for name, path in files.items():
        port = rt.free_port()  # a fresh server per file: one attack's memory is not the next's
        proc = start_server(repo, settings, port, root / f"server-{port}.log")
        base = f"http://127.0.0.1:{port}"
        try:
            rt.wait_http(f"{base}/readyz", timeout=120)
            url = f"{base}/v1/score/file"
            warm = post(url, keys["batcher"], "ordinary.csv", files["ordinary.csv"],
                        proc.pid, args.timeout, args.max_growth_mb)  # fmt: skip
            assert warm["status"] == 200, warm
            row = post(url, keys["batcher"], name, path, proc.pid, args.timeout,
                       args.max_growth_mb)  # fmt: skip
        finally:
            proc.kill()
            proc.wait(timeout=30)
        results.append(row)
        print(json.dumps(row), flush=True)
    meta = {"date": time.strftime("%Y-%m-%d"), "repo": str(repo), "cpus": os.cpu_count()}
    if repo == ROOT:
        RESULTS.mkdir(exist_ok=True)
        out = {**meta, "results": results, "rows": table_rows(results)}
        (RESULTS / "uploads.json").write_text(json.dumps(out, indent=1))


def table_rows(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows for ``bench/run_all.py``'s table: the refusals against the issue's targets."""
    rows: list[dict[str, Any]] = []
    for r in results:
        refused = r["file"] in ("expands.parquet", "wide.csv")
        what = f"{r['file']} ({r['file_kb']:,} KB): {r['status']}"
        rows += [
            {"measure": f"{what}, seconds", "value": r["seconds"], "unit": "s",
             **({"target": 2.0} if refused else {}), "higher_is_better": False},
            {"measure": f"{what}, server RSS growth", "value": r["rss_growth_mb"], "unit": "MB",
             **({"target": 100.0} if refused else {}), "higher_is_better": False},
        ]  # fmt: skip
    return rows


if __name__ == "__main__":
    main()
