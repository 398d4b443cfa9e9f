"""Shadow figures on a constructed case, and shadow scores kept in the store with outcomes."""

from __future__ import annotations

import pytest

from models.audit_rows import AuditRows, ModelStamp
from models.feedback import record_outcome
from models.shadow_report import shadow_figures, spearman
from models.store import AuditStore, ShadowScores, canonical_json, input_hash

# line: champion score, challenger score, champion band, challenger band, violation
CASE = {
    1: (0.9, 0.6, "high", "high", 1),
    2: (0.8, 0.1, "high", "low", 0),
    3: (0.7, 0.8, "elevated", "high", None),
    4: (0.1, 0.2, "low", "low", None),
    5: (0.2, 0.9, "low", "high", 1),
    6: (0.3, 0.3, "low", "elevated", 0),
}
CHAMP, CHALL = "models:/flrisk/1", "models:/flrisk/2"


def _rows(with_outcome: bool = True) -> list[dict]:
    return [
        {
            "ts": f"2026-01-0{i}T00:00:00+00:00", "request_id": "r1", "entry_id": "E",
            "line_no": i, "champion_version": CHAMP, "champion_score": c,
            "champion_band": cb, "challenger_version": CHALL, "challenger_score": s,
            "challenger_band": sb, **({"violation": v} if with_outcome else {}),
        }
        for i, (c, s, cb, sb, v) in CASE.items()
    ]  # fmt: skip


def _check_figures(fig) -> None:
    assert (fig.champion, fig.challenger, fig.lines) == (CHAMP, CHALL, 6)
    assert fig.band_agreement == pytest.approx(2 / 6)  # lines 1 and 4
    # Ranks [6,5,4,1,2,3] and [4,1,5,2,6,3]: sum d^2 = 38, rho = 1 - 6*38/(6*35).
    assert fig.spearman == pytest.approx(1 - 6 * 38 / (6 * 35))
    # k = ceil(0.5 * 6) = 3: champion 1,2,3; challenger 5,3,1 -> 2 shared.
    assert fig.k == 3 and fig.top_overlap == pytest.approx(2 / 3)
    assert fig.with_outcome == 4
    # Champion's top: 1 (violation), 2 (clean), 3 (no outcome) -> 1 of 2.
    assert (fig.champion_precision.judged, fig.champion_precision.violations) == (2, 1)
    assert fig.champion_precision.value == 0.5
    # Challenger's top: 5 (violation), 3 (no outcome), 1 (violation) -> 2 of 2.
    assert fig.challenger_precision.value == 1.0


def test_figures_of_a_constructed_case():
    (fig,) = shadow_figures(_rows(), top_share=0.5)
    _check_figures(fig)


def test_each_pair_of_versions_gets_its_own_figures_and_no_outcome_gives_no_precision():
    rows = _rows() + [{**r, "challenger_version": "models:/flrisk/3"} for r in _rows()]
    for r in rows:
        r["violation"] = None
    figs = shadow_figures(rows, top_share=0.5)
    assert [f.challenger for f in figs] == [CHALL, "models:/flrisk/3"]
    assert figs[0].champion_precision.value is None and figs[0].with_outcome == 0


def test_spearman_averages_ties_and_is_undefined_for_constant_scores():
    assert spearman([1.0, 2.0, 3.0], [10.0, 20.0, 30.0]) == pytest.approx(1.0)
    assert spearman([1.0, 2.0, 3.0], [3.0, 2.0, 1.0]) == pytest.approx(-1.0)
    assert spearman([1.0, 1.0, 2.0], [1.0, 2.0, 3.0]) == pytest.approx(0.8660254)
    assert spearman([1.0, 1.0], [1.0, 2.0]) is None and spearman([1.0], [2.0]) is None


def test_shadow_scores_are_kept_with_an_audit_row_and_read_back_with_outcomes(tmp_path):
    store = AuditStore(f"sqlite:///{tmp_path / 'audit.db'}")
    store.create()
    shadows = ShadowScores(store)
    # The champion's scoring of each line is audited first: outcomes name its decision.
    inputs = [{"entry_id": "E", "line_no": i} for i in CASE]
    results = [
        {"entry_id": "E", "line_no": i, "risk_score": c, "risk_band": cb, "reasons": []}
        for i, (c, _s, cb, _sb, _v) in CASE.items()
    ]
    store.record(AuditRows("r1", "k").scored("score", ModelStamp(CHAMP, "h"), inputs, results, 1))
    event = AuditRows("r1", "k").event("shadow_score", {"champion": CHAMP, "challenger": CHALL})
    shadows.record(_rows(with_outcome=False), event)
    for i, (*_, v) in CASE.items():
        decision = input_hash(canonical_json(inputs[i - 1]))
        item = {"entry_id": "E", "line_no": i, "decision_id": decision,
                "inspected": v is not None, "inspection_reason": "targeted" if v is not None
                else None, "violation": v, "outcome": None, "note": None}  # fmt: skip
        record_outcome(store, item, key_id="k", source="api", request_id=f"f{i}")
    got = shadows.with_outcomes()
    assert [r["violation"] for r in got] == [v for *_, v in CASE.values()]
    assert [r["challenger_score"] for r in got] == [s for _c, s, *_ in CASE.values()]
    (fig,) = shadow_figures(got, top_share=0.5)
    _check_figures(fig)
    assert shadows.with_outcomes(since="2026-01-04") == got[3:]
    actions = [r["action"] for r in store.audit_rows()]
    assert actions.count("shadow_score") == 1
    assert store.verify().ok
