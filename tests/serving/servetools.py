"""Helpers shared by the API tests: synthetic lines, a tiny model, a private registry, keys.

A module of its own (not conftest) so test files import it by a name that cannot collide
with the other conftest.py files on sys.path.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from models.contract.validate import validate_lines
from models.features.matrix import build_features, fit_feature_state, model_frame
from models.features.signals import derive_signals
from models.reference.tables import reference_versions
from models.scoring.bundle import Calibration, ModelBundle, save_bundle
from models.scoring.drift import drift_columns, fit_reference
from models.scoring.lookup import client
from models.scoring.scorer import Scorer
from models.settings import Settings
from serving.auth import SCOPES, create_key

ORIGINS = ["CN", "VN", "MY", "US", "DE", "IN", "MX", "TH"]
HTS = [
    "6109.10.0012",
    "8541.42.0010",
    "2002.90.8010",
    "3904.10.0000",
    "5201.00.1800",
    "9403.60.8081",
]
MFRS = [
    (
        "CNHOSSIL88SHA",
        "HOSHINE SILICON IND SHANSHAN CO LTD",
        "No. 88 Tianshan Road, Shanshan, Xinjiang, China",
    ),
    ("VNSAIGAR12HCM", "SAIGON GARMENT CO", "12 Le Loi, Ho Chi Minh City, Vietnam"),
    ("MYPENANG5PEN", "PENANG SOLAR SDN BHD", "5 Jalan Bayan, Penang, Malaysia"),
    ("CNZHEJTEX7HAN", "ZHEJIANG TEXTILE CO", "7 Jiefang Road, Hangzhou, Zhejiang, China"),
    ("DEBERLMOB3BER", "BERLIN MOEBEL GMBH", "3 Hauptstrasse, Berlin, Germany"),
]


def make_lines(n: int, seed: int, labels: bool = True, start: str = "2023-01-01") -> pd.DataFrame:
    """Contract-shaped raw lines (all text), ~3 lines per entry over 12 months."""
    rng = np.random.default_rng(seed)
    rows = []
    day0 = pd.Timestamp(start)
    i = 0
    e = 0
    while i < n:
        e += 1
        k = int(rng.integers(1, 4))
        origin = ORIGINS[int(rng.integers(len(ORIGINS)))]
        mid, mname, maddr = MFRS[int(rng.integers(len(MFRS)))]
        date = (day0 + pd.Timedelta(days=int(rng.integers(0, 365)))).strftime("%Y-%m-%d")
        for ln in range(1, k + 1):
            if i >= n:
                break
            qty = float(rng.integers(10, 5000))
            risky = ("XINJIANG" in maddr.upper()) or (origin == "CN" and rng.random() < 0.3)
            inspected = rng.random() < (0.6 if risky else 0.2)
            viol = (rng.random() < (0.5 if risky else 0.03)) if inspected else None
            row = {
                "entry_id": f"E{seed:02d}-{e:07d}",
                "line_no": str(ln),
                "entry_date": date,
                "hts_code": HTS[int(rng.integers(len(HTS)))],
                "country_of_origin": origin,
                "country_of_export": origin if rng.random() < 0.8 else "VN",
                "importer_id": f"IMP{int(rng.integers(0, 30)):03d}",
                "importer_name": f"IMPORTER {int(rng.integers(0, 30))} LLC",
                "manufacturer_id": mid,
                "manufacturer_name": mname,
                "manufacturer_address": maddr if rng.random() < 0.9 else "",
                "port_of_lading": "CNSHA" if origin == "CN" else "VNSGN",
                "port_of_entry": "2704",
                "transport_mode": "vessel",
                "goods_description": "MENS KNIT COTTON T-SHIRTS",
                "quantity": str(qty),
                "quantity_unit": "DOZ",
                "gross_weight_kg": f"{qty * float(rng.uniform(0.5, 3)):.1f}",
                "declared_value_usd": f"{qty * float(rng.uniform(2, 40)):.2f}",
            }
            if labels:
                row["inspected"] = "true" if inspected else "false"
                row["inspection_reason"] = (
                    ("random" if rng.random() < 0.3 else "targeted") if inspected else ""
                )
                row["violation"] = "" if viol is None else ("1" if viol else "0")
            rows.append(row)
            i += 1
    return pd.DataFrame(rows)


def train_bundle(n: int = 600, seed: int = 1, rounds: int = 20) -> ModelBundle:
    """A tiny but real bundle: the production feature path and a LightGBM booster."""
    lines = validate_lines(make_lines(n, seed), require_labels=True).lines
    state = fit_feature_state(lines)
    x = model_frame(build_features(lines, state), state)
    insp = np.asarray(lines["inspected"], dtype=bool)
    y = (np.asarray(lines["violation"], dtype=float)[insp] == 1).astype(float)
    params = {
        "objective": "binary",
        "num_leaves": 7,
        "min_data_in_leaf": 5,
        "verbosity": -1,
        "seed": seed,
        "num_threads": 1,
        "deterministic": True,
        "force_row_wise": True,
    }
    booster = lgb.train(params, lgb.Dataset(x[insp], y), num_boost_round=rounds)
    bundle = ModelBundle(
        booster=booster,
        state=state,
        calibration=Calibration(a=1.0, b=0.0),
        thresholds={"high": 0.5, "elevated": 0.2},
        reference_versions=reference_versions(),
        meta={"trained_lines": len(lines), "seed": seed},
    )
    # Its drift reference, as training fits one (on its own lines here).
    signals = derive_signals(lines)
    X = build_features(lines, state, signals=signals)
    scored = Scorer(bundle).score(lines, reasons=0)
    columns = drift_columns(lines, signals, X, state, scored.risk_score, scored.presumption)
    bundle.drift = fit_reference(columns, state, ("", ""))
    return bundle


@dataclass
class Registered:
    name: str
    version: str
    run_id: str
    bundle_dir: Path  # the bundle's folder inside the MLflow artifact store


def register(bundle: ModelBundle, settings: Settings, alias: str | None = "champion") -> Registered:
    """Log the bundle as a run artifact, register it, optionally point an alias at it."""
    import mlflow

    c = client(settings)
    name = settings.model_name
    exp = c.get_experiment_by_name("serving-tests")
    if exp is None:
        root = (settings.data_dir / "mlartifacts").resolve()
        root.mkdir(parents=True, exist_ok=True)
        exp_id = c.create_experiment("serving-tests", artifact_location=root.as_uri())
    else:
        exp_id = exp.experiment_id
    run = c.create_run(exp_id)
    with tempfile.TemporaryDirectory() as tmp:
        folder = save_bundle(bundle, Path(tmp) / "bundle")
        c.log_artifacts(run.info.run_id, str(folder), "bundle")
        # What a training run logs for the Model page: a random sample too small for p@1.
        evaluation = Path(tmp) / "metrics.json"
        evaluation.write_text(json.dumps(EVALUATION))
        c.log_artifact(run.info.run_id, str(evaluation), "evaluation")
    c.set_terminated(run.info.run_id)
    with contextlib.suppress(mlflow.exceptions.MlflowException):
        c.create_registered_model(name)
    source = f"{run.info.artifact_uri}/bundle"
    mv = c.create_model_version(name, source, run_id=run.info.run_id)
    c.set_model_version_tag(name, mv.version, "bundle_hash", bundle.bundle_hash)
    c.set_model_version_tag(
        name, mv.version, "holdout_metrics", '{"view": "random_sample", "pr_auc": 0.5}'
    )
    if alias:
        c.set_registered_model_alias(name, alias, mv.version)
    local = Path(run.info.artifact_uri.removeprefix("file://")) / "bundle"
    return Registered(name=name, version=str(mv.version), run_id=run.info.run_id, bundle_dir=local)


EVALUATION = {
    "random_sample": {
        "model": {
            "precision_at_1": {"value": 0.0, "lo": 0.0, "hi": 0.0},
            "precision_at_5": {"value": 0.25, "lo": 0.1, "hi": 0.4},
            "pr_auc": {"value": 0.5, "lo": 0.3, "hi": 0.7},
            "base_rate": {"value": 0.02, "lo": 0.01, "hi": 0.03},
        }
    }
}
KEYS = {"scorer": ["score"], "batcher": ["batch"], "officer": ["feedback"], "admin": list(SCOPES)}


def make_settings(root: Path, **extra: Any) -> Settings:
    """Settings for one test: its own data dir, registry, audit store and keys."""
    root.mkdir(parents=True, exist_ok=True)
    base = Settings(data_dir=root, bootstrap_key=False, num_threads=1)
    return base.model_copy(
        update={"mlflow_tracking_uri": f"sqlite:///{root / 'mlflow.db'}", **extra}
    )


def lines_json(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Normalised lines as API JSON (what a screening system would send)."""
    from serving.service import frame_inputs

    return frame_inputs(frame)


def add_keys(settings: Settings) -> dict[str, str]:
    return {kid: create_key(settings.keys_path(), kid, scopes) for kid, scopes in KEYS.items()}


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


# --- Files that hold more than their size says, and answers that must not show paths ---------

HEADER = "entry_id,line_no,entry_date,hts_code,country_of_origin"


def expanding_parquet(rows: int, **cells: str) -> bytes:
    """``rows`` copies of one line, dictionary-encoded: a few KB on disk."""
    line = {"entry_id": "E-1", "line_no": "1", "entry_date": "2024-03-14",
            "hts_code": "6109100012", "country_of_origin": "CN", **cells}  # fmt: skip
    zeros = pa.array(np.zeros(rows, dtype=np.int32))
    table = pa.table(
        {k: pa.DictionaryArray.from_arrays(zeros, pa.array([v])) for k, v in line.items()}
    )
    buf = io.BytesIO()
    pq.write_table(table, buf, compression="zstd", row_group_size=1 << 20)
    return buf.getvalue()


def wide_csv(columns: int) -> bytes:
    extra = "".join(f",x{i}" for i in range(columns - 5))
    return f"{HEADER}{extra}\nE-1,1,2024-03-14,6109100012,CN{',' * (columns - 5)}\n".encode()


def no_paths(settings: Any, text: str) -> None:
    for path in (settings.data_dir, Path(settings.data_dir).resolve()):
        assert str(path) not in text
    assert "/tmp/" not in text and "lines.csv" not in text and "lines.parquet" not in text
    assert not re.search(r"upload-[a-z0-9_]{8}", text)  # a private copy's folder
