"""Run every benchmark in bench/ and print one table (``make bench``).

Each figure is printed beside the alternative a user would otherwise pick, measured in the
same run, and its target. Results of each script are in ``bench/results/<name>.json``.

    .venv/bin/python bench/run_all.py [--quick] [--big] [--only features score ...]

``--quick`` uses small sizes (a few minutes in all); ``--big`` adds the 10,000,000-line run
of ``flrisk score`` (writes a ~1 GB Parquet file under the bench cache).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from typing import Any

from _common import REPO, RESULTS, isolate, registered_champion, simulated

BENCH = REPO / "bench"


def plan(quick: bool, big: bool) -> list[tuple[str, list[str]]]:
    """(script, arguments) in run order; sizes shrink with ``--quick``."""
    n = 200_000 if quick else 1_000_000
    score_args = ["--lines", str(n)] + (["--big"] if big else [])
    if big and quick:
        score_args += ["--big-lines", "2000000"]
    sizes = ["30000", "100000", "200000"] if quick else ["100000", "300000", "1000000"]
    return [
        ("simulate", ["--lines", str(n)]),
        ("features", ["--lines", str(n)]),
        ("score", score_args),
        ("train_scale", ["--sizes", *sizes]),
        ("spark", ["--lines", str(200_000 if quick else 1_000_000)]),
        ("kcs", []),
        ("serve", ["--n", "50" if quick else "300"]),
        (
            "load",
            [
                "--clients",
                "8",
                "--rate",
                "5",
                "--duration",
                "15" if quick else "60",
                "--saturation",
            ],
        ),
        ("workbench", ["--lines", "20000" if quick else "50000", "--runs", "1" if quick else "3"]),
        ("uploads", []),
    ]


def rows_of(name: str, data: dict[str, Any]) -> list[dict[str, Any]]:
    """Table rows from a result file (the older scripts have their own layout)."""
    if "rows" in data:
        return list(data["rows"])
    if name == "simulate":
        return [
            {
                "measure": "simulate",
                "value": data["lines_per_second"],
                "unit": "lines/s",
                "target": data["lines"] / data["target_seconds"],
                "higher_is_better": True,
            }
        ]
    if name == "kcs":
        pub = data["published_test"]["lightgbm"]
        return [
            {
                "measure": f"KCS {k} (validation)",
                "value": v,
                "unit": "",
                "alternative": "published LightGBM (test)",
                "alt_value": pub[k],
                "higher_is_better": True,
            }
            for k, v in data["valid"].items()
        ]
    targets = data.get("targets", {})
    rows = [
        {
            "measure": k,
            "value": data[k],
            "unit": "ms" if k.endswith("_ms") else "MB",
            "target": t,
            "higher_is_better": False,
            **(
                {"alternative": "mlflow models serve", "alt_value": data[f"mlflow_{k}"]}
                if k == "rss_mb" and "mlflow_rss_mb" in data
                else {}
            ),
        }
        for k, t in targets.items()
        if k in data
    ]
    # The comparison with the alternative, both servers running side by side (see
    # bench/serve.py `compare`): the single-line p50 should be 5x the alternative's (its
    # target is the alternative's / 5) and 1,000 lines with reasons 1.5x its scores only.
    ways = (("side by side", "http_1_p50_ms", 5.0), ("side by side", "http_1_p99_ms", 0.0),
            ("side by side", "http_1000_p50_ms", 1.5),
            ("each request after 30 ms idle", "idle_http_1_p50_ms", 5.0),
            ("each request after 30 ms idle", "idle_http_1_p99_ms", 0.0))  # fmt: skip
    rows += [
        {
            "measure": f"{k.removeprefix('idle_')}, {how}",
            "value": data[f"paired_{k}"],
            "unit": "ms",
            "alternative": "mlflow models serve",
            "alt_value": data[f"mlflow_{k}"],
            "higher_is_better": False,
            **({"target": data[f"mlflow_{k}"] / judged} if judged else {}),
        }
        for how, k, judged in ways
        if f"paired_{k}" in data and f"mlflow_{k}" in data
    ]
    # The least any server computing flrisk's answer could take at today's scorer speed
    # (bench/ceiling.py), judged by the same targets: where it fails, no change to the rest
    # of the API can pass.
    least = {}
    if "core_1_p50_ms" in data and "floor_http_1_p50_ms" in data:
        least["http_1_p50_ms"] = (data["core_1_p50_ms"] + data["floor_http_1_p50_ms"], 5.0)
    if "core_1000_p50_ms" in data:
        least["http_1000_p50_ms"] = (data["core_1000_p50_ms"], 1.5)
    rows += [
        {
            "measure": f"{k}, the least possible (validation and scoring in process"
            + (", a bare endpoint's HTTP)" if k == "http_1_p50_ms" else ", no HTTP)"),
            "value": value,
            "unit": "ms",
            "alternative": "mlflow models serve",
            "alt_value": data[f"mlflow_{k}"],
            "higher_is_better": False,
            "target": data[f"mlflow_{k}"] / judged,
        }
        for k, (value, judged) in least.items()
        if f"mlflow_{k}" in data
    ]
    return rows


def fmt(v: Any) -> str:
    if v is None or (isinstance(v, float) and v != v):
        return "-"
    return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:,.3g}"


def table(results: dict[str, dict[str, Any]], notes: list[str]) -> str:
    head = "| benchmark | measure | flrisk | alternative (same run) | target | vs target |"
    lines = [head, "|---|---|---|---|---|---|"]
    for name, data in results.items():
        for r in rows_of(name, data):
            unit = f" {r['unit']}" if r.get("unit") else ""
            alt = f"{r['alternative']}: {fmt(r['alt_value'])}" if r.get("alternative") else ""
            target, ratio = "", ""
            if r.get("target") is not None:
                t, v = float(r["target"]), float(r["value"])
                better = r.get("higher_is_better", True)
                ok = v >= t if better else v <= t
                target = ("≥ " if better else "≤ ") + fmt(t)
                times = f"{v / t if better else t / v:.2f}x " if v and t else ""
                ratio = times + ("PASS" if ok else "FAIL")
            lines.append(
                f"| {name} | {r['measure']} | {fmt(r['value'])}{unit} | {alt} | "
                f"{target} | {ratio} |"
            )
    return "\n".join(lines + [""] + [f"- {n}" for n in notes])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--big", action="store_true")
    parser.add_argument("--only", nargs="*")
    args = parser.parse_args()
    data_dir = isolate()
    results: dict[str, dict[str, Any]] = {}
    notes: list[str] = []
    started = time.perf_counter()
    for name, extra in plan(args.quick, args.big):
        if args.only and name not in args.only:
            earlier = RESULTS / f"{name}.json"
            if earlier.is_file():  # keep the table whole: show the last run's figures
                results[name] = json.loads(earlier.read_text())
                notes.append(f"{name}: figures from an earlier run (not re-run now)")
            continue
        script = BENCH / f"{name}.py"
        if not script.is_file():
            notes.append(f"{name}: skipped (bench/{name}.py not present)")
            continue
        if name in ("serve", "workbench", "load"):
            sim = simulated(200_000 if args.quick else 1_000_000)
            registered_champion(sim)
            extra = [*extra, "--data", str(sim / "score.csv")]
            if name in ("serve", "load"):
                extra += ["--tracking-uri", f"sqlite:///{data_dir / 'mlflow.db'}"]
            if name == "serve":
                extra += ["--model-uri", "models:/flrisk@champion"]
        print(f"\n=== {name} {' '.join(extra)}", flush=True)
        t0 = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, str(script), *extra], env=os.environ.copy(), check=False
        )
        if proc.returncode != 0:
            notes.append(f"{name}: failed (exit {proc.returncode}); see its output above")
            continue
        path = RESULTS / f"{name}.json"
        if path.is_file() and path.stat().st_mtime >= time.time() - (time.perf_counter() - t0) - 1:
            results[name] = json.loads(path.read_text())
        else:
            notes.append(f"{name}: wrote no fresh results file")
    notes.append(
        f"{'quick' if args.quick else 'full'} run, {os.cpu_count()} CPUs, "
        f"{time.perf_counter() - started:.0f} s in all"
    )
    out = table(results, notes)
    (RESULTS / "summary.md").write_text(out + "\n")
    print("\n" + out)


if __name__ == "__main__":
    main()
