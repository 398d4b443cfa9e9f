"""Model load latency: what the child process that loads a new model first adds.

A server loads a model at start-up and on ``POST /v1/admin/reload``; since issue #16 a child
process first loads it and scores a warm-up line (``models/scoring/check.py``). This times,
alternating, N times each:

- the load without the child (resolve, registry tags, download, verify, parse, warm-up);
- the server's load with it (``serving.model_holder._load``, its cache of checked bundles
  emptied each time);
- with ``--start``, a server process from launch to ``/readyz`` 200, for this tree and, with
  ``--old-tree PATH`` (e.g. ``git archive`` of an earlier commit), for that one.

    .venv/bin/python bench/model_load.py [--lines 30000] [--runs 5] [--start] [--old-tree DIR]

Writes ``bench/results/model_load.json``. The machine's load average is recorded with the
figures: on a busy 2-core machine, the child's imports (pandas, LightGBM) dominate.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from _common import REPO, RESULTS, bundle_for, isolate, simulated


def register(folder: Path, tracking_uri: str, root: Path) -> str:
    """Register a bundle folder as ``flrisk`` version 1 @champion, tagged as training does."""
    import mlflow

    from models.scoring.bundle import MODEL_FILE, manifest_bundle_hash, verify_bundle

    manifest = verify_bundle(folder)
    c = mlflow.MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    exp = c.create_experiment("bench", artifact_location=(root / "artifacts").as_uri())
    run = c.create_run(exp)
    c.log_artifacts(run.info.run_id, str(folder), "bundle")
    c.set_terminated(run.info.run_id)
    c.create_registered_model("flrisk")
    mv = c.create_model_version("flrisk", f"{run.info.artifact_uri}/bundle", run_id=run.info.run_id)
    c.set_model_version_tag("flrisk", mv.version, "bundle_hash", manifest_bundle_hash(manifest))
    c.set_model_version_tag("flrisk", mv.version, "model_hash", manifest["files"][MODEL_FILE])
    c.set_registered_model_alias("flrisk", "champion", mv.version)
    return "models:/flrisk@champion"


def load_without_child(uri: str, settings: Any) -> None:
    from models.scoring.check import warm
    from models.scoring.lookup import fetch_bundle, registered_tags, resolve
    from models.scoring.scorer import Scorer

    resolved = resolve(uri, settings)
    tags = registered_tags(resolved, settings)
    with tempfile.TemporaryDirectory() as tmp:
        bundle = fetch_bundle(resolved, settings, dst=Path(tmp), tags=tags)
    warm(Scorer(bundle, version=resolved.uri))


def load_with_child(uri: str, settings: Any) -> None:
    from models.scoring import check
    from serving.model_holder import _load

    check._PASSED.clear()  # as for a version this server never loaded
    _load(uri, settings)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_to_ready(tree: Path, data: Path, tracking_uri: str, timeout: float = 600) -> float:
    """Seconds from launching ``tree``'s server process to ``/readyz`` 200."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLRISK_")}
    env.update(FLRISK_DATA_DIR=str(data), MLFLOW_TRACKING_URI=tracking_uri,
               FLRISK_BOOTSTRAP_KEY="false", FLRISK_NUM_THREADS="2",
               MLFLOW_DISABLE_TELEMETRY="true", PYTHONPATH=str(tree))  # fmt: skip
    app = tree / "tests" / "reliability" / "serve_app.py"
    cmd = [sys.executable, str(app), "--port", str(port)]
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, env=env, cwd=tree, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        while time.monotonic() - t0 < timeout:
            if proc.poll() is not None:
                raise RuntimeError(f"{tree}: server exited {proc.returncode}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5).status_code == 200:
                    return time.monotonic() - t0
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"{tree}: not ready within {timeout} s")
    finally:
        proc.kill()
        proc.wait()


def median(xs: list[float]) -> float:
    return round(statistics.median(xs), 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lines", type=int, default=30_000, help="Simulated lines to train on.")
    parser.add_argument("--bundle", type=Path, help="A bundle folder instead of training one.")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--start", action="store_true", help="Also time server start-up.")
    parser.add_argument("--old-tree", type=Path, help="An earlier checkout to compare start-up.")
    args = parser.parse_args()
    isolate()
    folder = args.bundle
    if folder is None:
        sim = simulated(args.lines)
        bundle_for(sim)
        folder = sim / "bundle"
    root = Path(tempfile.mkdtemp(prefix="flrisk-bench-load-"))
    tracking_uri = f"sqlite:///{root / 'mlflow.db'}"
    uri = register(folder, tracking_uri, root)

    from models.settings import Settings

    settings = Settings(data_dir=root, mlflow_tracking_uri=tracking_uri, num_threads=2)
    load_without_child(uri, settings)  # imports, caches: first calls are not timed
    load_with_child(uri, settings)
    load_before = os.getloadavg()[0]
    without, with_child = [], []
    for _ in range(args.runs):
        t0 = time.perf_counter()
        load_without_child(uri, settings)
        without.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        load_with_child(uri, settings)
        with_child.append(time.perf_counter() - t0)
    out: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d"),
        "cpus": os.cpu_count(),
        "model_file_kb": round((folder / "model.lgb").stat().st_size / 1024),
        "state_file_kb": round((folder / "feature_state.json").stat().st_size / 1024),
        "runs": args.runs,
        "reload_without_child_s": median(without),
        "reload_with_child_s": median(with_child),
        "added_by_child_s": median([b - a for a, b in zip(without, with_child, strict=True)]),
        "all_without_s": [round(x, 2) for x in without],
        "all_with_s": [round(x, 2) for x in with_child],
    }
    if args.start:
        trees = {"this tree": REPO, **({"old tree": args.old_tree} if args.old_tree else {})}
        starts: dict[str, list[float]] = {k: [] for k in trees}
        for i in range(args.runs):
            for name, tree in trees.items():
                starts[name].append(start_to_ready(tree, root / f"app-{name[:3]}-{i}",
                                                   tracking_uri))  # fmt: skip
        out["start_to_ready_s"] = {k: median(v) for k, v in starts.items()}
        out["all_start_s"] = {k: [round(x, 2) for x in v] for k, v in starts.items()}
    out["load_average_1min"] = [round(load_before, 1), round(os.getloadavg()[0], 1)]
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "model_load.json").write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
