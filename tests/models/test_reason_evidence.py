"""Reasons rest on evidence the line carries, split into what raises and what lowers the risk.

A simulated batch (the recorded fixture's lines and model) is scored with some parties, the
quantity and the export country left undeclared on part of the lines, and every reason is
checked against the line it explains.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from models.contract.batch import Lines
from models.contract.reader import read_entry_lines
from models.scoring.bundle import load_bundle
from models.scoring.explain import LOWERS, NOTE, PRESUMES, RAISES
from models.scoring.scorer import Scorer

FIXTURE = Path(__file__).parents[1] / "fixtures" / "scoring"
K = 3
HISTORY_PARTY = {
    "shipper_history": ("shipper_name",),
    "importer_history": ("importer_id", "importer_name"),
    "manufacturer_history": ("manufacturer_id", "manufacturer_name"),
}
NO_EVIDENCE = re.compile(r"no history|not declared|could not be computed|\b0 past inspections")


@pytest.fixture(scope="module")
def scored() -> tuple[pd.DataFrame, list[list[dict[str, Any]]]]:
    frame = read_entry_lines(FIXTURE / "lines.csv").lines.to_frame()
    rng = np.random.default_rng(7)
    # Undeclared fields on part of the lines: the parties, the quantity, the export country.
    for col, share in (
        ("shipper_name", 0.5),
        ("shipper_address", 0.5),
        ("manufacturer_name", 0.2),
        ("manufacturer_id", 0.3),
        ("importer_id", 0.3),
        ("importer_name", 0.3),
        ("quantity", 0.2),
        ("country_of_export", 0.2),
    ):
        frame.loc[rng.random(len(frame)) < share, col] = None
    scorer = Scorer(load_bundle(FIXTURE / "bundle", num_threads=1))
    out = scorer.score(Lines.from_frame(frame), reasons=K)
    return frame, list(out.reasons)


def _declared(line: pd.Series, col: str) -> bool:
    v = line[col]
    return not (v is None or (not isinstance(v, str) and pd.isna(v)) or v == "")


def test_raising_reasons_come_first_with_positive_contributions(scored):
    _, reasons = scored
    for rs in reasons:
        dirs = [r["direction"] for r in rs]
        # The legal basis of a presumption, then raises, then lowers, then a note.
        assert dirs == sorted(dirs, key=[PRESUMES, RAISES, LOWERS, NOTE].index)
        up = [r for r in rs if r["direction"] == RAISES]
        down = [r for r in rs if r["direction"] == LOWERS]
        assert len(up) <= K and len(down) <= K
        assert all(r["contribution"] > 0 and r["share"] > 0 for r in up)
        assert all(r["contribution"] < 0 and r["share"] < 0 for r in down)
        ups, downs = [r["contribution"] for r in up], [r["contribution"] for r in down]
        assert ups == sorted(ups, reverse=True) and downs == sorted(downs)
    assert sum(1 for rs in reasons for r in rs if r["direction"] == RAISES) > len(reasons)
    assert sum(1 for rs in reasons for r in rs if r["direction"] == LOWERS) > len(reasons)


def test_no_match_on_the_entity_lists_only_ever_lowers_the_risk(scored):
    _, reasons = scored
    entity = [r for rs in reasons for r in rs if r["code"] == "listed_entity"]
    assert any(r["direction"] == LOWERS for r in entity)
    for r in entity:
        if r["direction"] == RAISES:
            assert r["evidence"]["entity"] and "matches" in r["text"]
        else:
            assert r["text"].startswith("No match on the entity lists")


def test_no_first_reason_rests_on_zero_evidence(scored):
    frame, reasons = scored
    firsts = 0
    for (_, line), rs in zip(frame.iterrows(), reasons, strict=True):
        if not rs:
            continue
        first = rs[0]
        if first["direction"] != RAISES:
            continue  # nothing raises this line's risk: no reason to inspect it is given
        assert not NO_EVIDENCE.search(first["text"]), first["text"]
        for code, cols in HISTORY_PARTY.items():
            if first["code"] == code:
                assert any(_declared(line, c) for c in cols), (first, line.to_dict())
        if first["code"].endswith("history"):
            ev = first["evidence"]
            assert ev["prior_violations"] > 0 or ev.get("prior_risky_lines", 0) > 0, first
        firsts += 1
    assert firsts > 500


def test_a_line_without_a_shipper_never_gets_a_shipper_reason(scored):
    frame, reasons = scored
    no_shipper = frame["shipper_name"].isna().to_numpy()
    assert no_shipper.sum() > 300
    for missing, rs in zip(no_shipper, reasons, strict=True):
        if missing:
            assert not [r for r in rs if r["code"] in ("shipper_history", "shipper_role")], rs


def test_history_reasons_rest_on_past_inspections(scored):
    _, reasons = scored
    for rs in reasons:
        for r in rs:
            if not r["code"].endswith("history"):
                continue
            ev = r["evidence"]
            assert ev["prior_lines"] > 0, r
            if r["direction"] == LOWERS:
                assert ev["prior_inspections"] > 0, r
            else:
                assert ev["prior_violations"] > 0 or ev["prior_risky_lines"] > 0, r


def test_reasons_never_contradict_the_line(scored):
    frame, reasons = scored
    checked = 0
    for (_, line), rs in zip(frame.iterrows(), reasons, strict=True):
        for r in rs:
            ev, code = r["evidence"], r["code"]
            if "origin" in ev and code in ("origin", "route", "risk_goods"):
                assert ev["origin"] == line["country_of_origin"], (r, line.to_dict())
            if "hs6" in ev:
                assert ev["hs6"] == line["hts_code"].replace(".", "")[:6], r
            if code == "route":
                export = line["country_of_export"] if _declared(line, "country_of_export") else ""
                assert ev["export"] == export, r
            if code == "unit_value":
                assert _declared(line, "quantity") and _declared(line, "declared_value_usd")
                uv = float(line["declared_value_usd"]) / float(line["quantity"])
                assert math.isclose(ev["unit_value_usd"], uv, rel_tol=1e-3, abs_tol=1e-4), r
            if code == "listed_entity" and r["direction"] == RAISES:
                assert _declared(line, f"{ev['role']}_name"), r
            checked += 1
    assert checked > 1000


def test_missing_fields_are_never_a_reason(make_lines):
    scorer = Scorer(load_bundle(FIXTURE / "bundle", num_threads=1))
    lines = make_lines(quantity=[None] * 3, goods_description=[None] * 3)
    for rs in scorer.score(lines, reasons=20).reasons:
        assert rs, "every line still has reasons"
        for r in rs:
            assert r["code"] not in ("missing_data", "unit_value", "goods_description"), r
            assert r["code"] not in ("shipper_history", "importer_history", "shipper_role"), r
