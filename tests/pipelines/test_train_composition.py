"""``flrisk train`` as wiring: the steps run in order, each fed the previous one's output."""

from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from models.feedback import FeedbackLines
from pipelines import train
from pipelines.registry import RegisteredRun


@pytest.fixture()
def steps(monkeypatch, tmp_path):
    """Every step of the composition replaced by a recorder."""
    calls: list[tuple[str, tuple]] = []
    frame = pd.DataFrame({"entry_id": ["A"], "line_no": [1]})
    result = SimpleNamespace(bundle="bundle", test_frame=frame, data_digest="d1")

    def step(name, out):
        def run(*args, **kwargs):
            calls.append((name, args))
            return out

        monkeypatch.setattr(train, name, run)

    step("read_labelled", SimpleNamespace(frame=frame, passthrough={}, quarantine_path=None))
    step("load_feedback_lines", FeedbackLines(frame.iloc[:0]))
    step("fit", result)
    step("save_bundle", tmp_path / "bundle")
    step("write_reports", tmp_path / "evaluation")
    step("run_name", "train.csv d1 2026-01-01")
    step("run_params", {"p": "1"})
    step("run_metrics", {"m": 1.0})
    step("log_training_run", RegisteredRun(run_id="r1", name="flrisk", version="3"))
    step("version_tags", {"run_id": "r1"})
    step("set_version_tags", None)
    step("promote", True)
    return SimpleNamespace(calls=calls, result=result)


INPUTS = {"data": [Path("train.csv")], "mapping": None, "name": "flrisk", "config": None}
FLAGS = {"truth": None, "use_feedback": True, "allow_bad_rows": False}


def _train(promote_alias):
    return train.train_command(**INPUTS, **FLAGS, promote_alias=promote_alias)


def test_steps_run_in_order_and_promotion_comes_last(steps, tmp_path):
    assert _train("champion") == "models:/flrisk/3"
    names = [n for n, _ in steps.calls]
    assert names == [
        "read_labelled",
        "load_feedback_lines",
        "fit",
        "save_bundle",
        "write_reports",
        "run_name",
        "run_params",
        "run_metrics",
        "log_training_run",
        "version_tags",
        "set_version_tags",
        "promote",
    ]
    args = dict(steps.calls)
    logged = args["log_training_run"][2]
    assert logged.reports == tmp_path / "evaluation" and logged.bundle_dir == tmp_path / "bundle"
    assert logged.name == "train.csv d1 2026-01-01"
    assert args["set_version_tags"][1:] == ("flrisk", "3", {"run_id": "r1"})
    assert args["promote"][:3] == ("models:/flrisk/3", "champion", False)


def test_no_promotion_without_an_alias(steps):
    _train(None)
    assert "promote" not in [n for n, _ in steps.calls]
