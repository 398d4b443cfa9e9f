"""KCS benchmark: `flrisk train` on the train split, judged on the validation split.

Runs the same code path as the command line (reader + mapping, training, MLflow registry,
scoring) in a temporary data folder, then prints precision at 5% and 10% of the validation
declarations ranked riskiest, beside the published LightGBM figures (which are on the
withheld test split: the comparison is indicative, the judged figure is on that split).

    .venv/bin/python bench/kcs.py [--shared ../shared]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PUBLISHED = {"lightgbm": {"precision_at_5": 0.762, "precision_at_10": 0.641}}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    args = parser.parse_args()
    kcs = args.shared / "benchmarks" / "kcs"
    tmp = Path(tempfile.mkdtemp(prefix="flrisk-kcs-"))
    os.environ["FLRISK_DATA_DIR"] = str(tmp)
    os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{tmp / 'mlflow.db'}"
    os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"

    import numpy as np

    from models.contract.reader import read_entry_lines
    from models.scoring.lookup import fetch_bundle, resolve
    from models.scoring.scorer import Scorer
    from models.settings import get_settings
    from pipelines.metrics import top_mask
    from pipelines.train import train_command

    mapping = REPO / "pipelines" / "mappings" / "kcs.toml"
    t0 = time.perf_counter()
    uri = train_command(
        data=[kcs / "df_syn_train_eng.csv"],
        mapping=mapping,
        name="kcs",
        config=None,
        truth=None,
        use_feedback=False,
        promote_alias=None,
        allow_bad_rows=False,
    )
    train_s = time.perf_counter() - t0
    settings = get_settings()
    scorer = Scorer(fetch_bundle(resolve(uri, settings), settings))
    valid = read_entry_lines(kcs / "df_syn_valid_eng.csv", mapping, require_labels=True).lines
    p = scorer.score(valid, reasons=0).risk_score
    y = np.asarray(valid["violation"])
    ours = {f"precision_at_{c}": float(y[top_mask(p, c / 100)].mean()) for c in (5, 10)}
    print(
        f"\nKCS validation split ({len(valid):,} declarations, {y.mean():.1%} fraud), model {uri}, "
        f"trained in {train_s:.0f}s"
    )
    print(f"{'metric':<18}{'flrisk':>8}{'published LightGBM (test)':>28}{'ratio':>8}")
    for k, v in ours.items():
        pub = PUBLISHED["lightgbm"][k]
        print(f"{k:<18}{v:>8.3f}{pub:>28.3f}{v / pub:>8.2f}")
    out = REPO / "bench" / "results" / "kcs.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "valid": ours,
                "published_test": PUBLISHED,
                "train_seconds": train_s,
                "lines_valid": len(valid),
                "model": uri,
            },
            indent=1,
        )
    )
    assert np.isfinite(list(ours.values())).all()


if __name__ == "__main__":
    main()
