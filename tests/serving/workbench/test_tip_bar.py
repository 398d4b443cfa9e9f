"""The entry page's waterfall: what a model trained with tips weighs them at is one bar."""

from __future__ import annotations

from typing import Any

from models.scoring.bundle import Calibration
from serving.workbench.routes.entries import _illustrate


def _line(tip_contribution: float) -> dict[str, Any]:
    tip = {"code": "tip", "direction": "raises", "text": "An allegation ...",
           "evidence": {"tip_id": 4}, "contribution": tip_contribution, "share": 0.1}  # fmt: skip
    listed = {"code": "listed_entity", "direction": "raises", "text": "Listed.",
              "evidence": {}, "contribution": 1.25, "share": 0.5}  # fmt: skip
    return {"line_no": 1, "line": {}, "base": -4.0, "rest": 0.0,
            "reasons": [listed, tip, dict(tip, evidence={"tip_id": 5})]}  # fmt: skip


def _bars(chart: str) -> list[str]:
    return [t.split("<")[0] for t in chart.split(">") if t[:3] in ("tip", "lis")]


def test_the_tips_weight_is_one_bar_and_the_tips_are_listed_apart() -> None:
    cal = Calibration(a=1.0, b=0.0, method="platt", fitted_on="test")
    weighed = _line(0.3)
    _illustrate(weighed, cal)
    assert [r["evidence"]["tip_id"] for r in weighed["tips"]] == [4, 5]
    assert "tip" in _bars(str(weighed["chart"])) and "+0.60" in str(weighed["chart"])
    assert [r["code"] for r in weighed["raises"]] == ["listed_entity"]  # tips are not reasons
    # A model without tip features: the tips are listed, and no bar stands for them.
    unweighed = _line(0.0)
    _illustrate(unweighed, cal)
    assert len(unweighed["tips"]) == 2 and "tip" not in _bars(str(unweighed["chart"]))
