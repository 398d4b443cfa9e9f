"""Shared helpers of the benchmark scripts: data, a trained bundle, peak memory, results.

Simulated data and the trained bundle are cached under ``$FLRISK_BENCH_CACHE`` (default
``/tmp/flrisk-bench``) so the scripts of one ``run_all.py`` run share them.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import resource
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results"
CACHE = Path(os.environ.get("FLRISK_BENCH_CACHE", "/tmp/flrisk-bench"))


def isolate() -> Path:
    """Point flrisk and MLflow at the bench cache (never the user's data folder)."""
    data = CACHE / "data"
    data.mkdir(parents=True, exist_ok=True)
    os.environ["FLRISK_DATA_DIR"] = str(data)
    os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{data / 'mlflow.db'}"
    os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"
    return data


def simulated(lines: int, seed: int = 7) -> Path:
    """Folder with train.csv / score.csv / truth.csv of a simulated world (cached)."""
    out = CACHE / f"sim-{lines}-{seed}"
    if not (out / "score.csv").is_file():
        from pipelines.simulate import run

        with contextlib.redirect_stdout(io.StringIO()):
            run(out=out, lines=lines, seed=seed)
    return out


def all_lines(sim: Path) -> Any:
    """Every simulated line (train + score), contract-validated, labels dropped."""
    import pandas as pd

    from models.contract.reader import read_entry_lines

    frames = [read_entry_lines(sim / f"{n}.csv").frame for n in ("train", "score")]
    return pd.concat(frames, ignore_index=True)


def parquet_lines(sim: Path) -> Path:
    """The simulated lines (train + score, no labels) as one Parquet file with typed columns."""
    path = sim / "lines.parquet"
    if path.is_file():
        return path
    import pyarrow as pa
    import pyarrow.csv as pv
    import pyarrow.parquet as pq

    from models.contract.columns import CONTRACT_COLUMNS, LABELS

    codes = ("entry_id", "hts_code", "importer_id", "manufacturer_id", "port_of_entry")
    options = pv.ConvertOptions(
        include_columns=[c for c in CONTRACT_COLUMNS if c not in LABELS],
        column_types={c: pa.string() for c in codes},
        strings_can_be_null=True,
    )
    tables = [pv.read_csv(sim / f"{n}.csv", convert_options=options) for n in ("train", "score")]
    pq.write_table(pa.concat_tables(tables), path, row_group_size=250_000)
    return path


def bundle_for(sim: Path) -> Any:
    """A model trained on the simulated history (saved as a verified bundle, then loaded)."""
    from models.scoring.bundle import load_bundle, save_bundle

    folder = sim / "bundle"
    if not (folder / "manifest.json").is_file():
        from models.contract.reader import read_entry_lines
        from pipelines.config import load_config
        from pipelines.fit import fit

        frame = read_entry_lines(sim / "train.csv", require_labels=True).frame
        with contextlib.redirect_stdout(io.StringIO()):
            result = fit(frame, {}, load_config(None), None, num_threads=2)
        save_bundle(result.bundle, folder)
    return load_bundle(folder, num_threads=2)


def registered_champion(sim: Path) -> str:
    """Train through ``flrisk train`` into the bench's MLflow store; the champion URI."""
    marker = sim / "registered.txt"
    if marker.is_file():
        return marker.read_text().strip()
    from pipelines.train import train_command

    with contextlib.redirect_stdout(io.StringIO()):
        uri = train_command(
            data=[sim / "train.csv"],
            mapping=None,
            name="flrisk",
            config=None,
            truth=None,
            use_feedback=False,
            promote_alias="champion",
            allow_bad_rows=False,
        )
    marker.write_text(uri)
    return uri


class PeakRSS:
    """Peak resident memory of this process over a block, sampled every 20 ms."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()

    @staticmethod
    def current() -> int:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.current())
            time.sleep(0.02)

    def __enter__(self) -> PeakRSS:
        self.peak = self.current()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.current())

    @property
    def gib(self) -> float:
        return self.peak / 2**30


def children_peak_gib() -> float:
    """Largest peak RSS of any finished child process (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20


@contextlib.contextmanager
def timer() -> Iterator[dict[str, float]]:
    out: dict[str, float] = {}
    t0 = time.perf_counter()
    yield out
    out["seconds"] = time.perf_counter() - t0


def row(
    measure: str,
    value: float,
    unit: str,
    *,
    alternative: str = "",
    alt_value: float | None = None,
    target: float | None = None,
    higher_is_better: bool = True,
) -> dict[str, Any]:
    """One table row: a figure, the alternative measured beside it, and the target."""
    r: dict[str, Any] = {"measure": measure, "value": value, "unit": unit}
    if alternative:
        r["alternative"] = alternative
        r["alt_value"] = alt_value
    if target is not None:
        r["target"] = target
        r["passed"] = value >= target if higher_is_better else value <= target
    r["higher_is_better"] = higher_is_better
    return r


def write(name: str, rows: list[dict[str, Any]], **extra: Any) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    payload = {"benchmark": name, "cpus": os.cpu_count(), "rows": rows, **extra}
    (RESULTS / f"{name}.json").write_text(json.dumps(payload, indent=2) + "\n")
    for r in rows:
        alt = f" | {r['alternative']}: {r['alt_value']:,.4g}" if r.get("alternative") else ""
        print(f"{name}: {r['measure']} = {r['value']:,.4g} {r['unit']}{alt}")
