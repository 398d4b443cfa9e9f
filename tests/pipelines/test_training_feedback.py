"""Training with feedback: outcomes about other data are counted and skipped, never a crash."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from models.audit_rows import AuditRows, ModelStamp
from models.feedback import record_outcome
from models.settings import Settings
from models.store import AuditStore
from pipelines.config import load_config
from pipelines.fit import fit
from pipelines.labelled import merge_feedback
from pipelines.train import read_training_lines

DEMO_LINE = {"entry_id": "DEMO-0000001-1", "line_no": 1, "entry_date": "2026-01-05",
             "hts_code": "8541.42.0010", "country_of_origin": "MY"}  # fmt: skip


def _judge(store: AuditStore, line: dict, violation: int, key: str, source: str) -> None:
    """An audited scoring of ``line`` and an outcome naming that decision."""
    rows = AuditRows("req-score", key)
    result = {"entry_id": line["entry_id"], "line_no": line["line_no"], "risk_score": 0.5,
              "risk_band": "elevated", "reasons": []}  # fmt: skip
    (row,) = rows.scored("workbench_score", ModelStamp("models:/flrisk/1", "h"), [line],
                         [result], 1.0)  # fmt: skip
    store.record([row])
    item = {"entry_id": line["entry_id"], "line_no": line["line_no"],
            "decision_id": row["input_hash"], "inspected": True, "inspection_reason": "targeted",
            "violation": violation, "outcome": "detained" if violation else "released",
            "note": None}  # fmt: skip
    record_outcome(store, item, key_id=key, source=source, request_id="req-fb")


@pytest.mark.slow
def test_feedback_about_lines_not_in_the_training_data_is_counted_and_skipped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from pipelines.simulate import run

    # Issue #15: one outcome recorded on the demo data, then training on another data set
    # with its hidden truth crashed (`no hidden truth for 1 lines`).
    run(out=tmp_path / "other", lines=1500, seed=11)
    settings = Settings(data_dir=tmp_path / "data", bootstrap_key=False, num_threads=1)
    store = AuditStore(settings.audit_store_url())
    _judge(store, DEMO_LINE, 1, "admin", "workbench")
    store.dispose()
    train = tmp_path / "other" / "train.csv"
    frame, passthrough = read_training_lines(settings, [train], None, False, True)
    out = capsys.readouterr().out
    assert "1 feedback outcome(s) about lines not in the training data skipped" in out
    assert len(frame) == len(pd.read_csv(train)) and DEMO_LINE["entry_id"] not in set(
        frame["entry_id"]
    )
    cfg = load_config(None).updated(
        {"lightgbm": {"num_boost_round": 10}, "evaluation": {"bootstrap": 0},
         "learning": {"strategies": ["inspected"]}}
    )  # fmt: skip
    result = fit(frame, passthrough, cfg, tmp_path / "other" / "truth.csv", 1)
    assert result.bundle is not None


def test_feedback_relabels_known_lines_skips_others_and_leaves_out_lines_under_review():
    frame = pd.DataFrame(
        {"entry_id": ["A", "A", "B", "C"], "line_no": [1, 2, 1, 1], "violation": [0, 0, 0, 0]}
    )
    feedback = pd.DataFrame({"entry_id": ["A", "Z"], "line_no": [2, 1], "violation": [1, 1]})
    merged = merge_feedback(frame, feedback, under_review={("C", 1), ("Y", 3)})
    got = merged.frame.set_index(["entry_id", "line_no"])["violation"].to_dict()
    assert got == {("A", 1): 0, ("B", 1): 0, ("A", 2): 1}
    assert (merged.relabelled, merged.not_in_data, merged.under_review) == (1, 1, 1)
    assert merge_feedback(frame, feedback.iloc[:0]).frame is frame
