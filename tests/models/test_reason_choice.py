"""Reasons chosen over a batch's arrays and worded once per distinct evidence.

A batch's reasons are the same whether its lines come together or one at a time (the two
ways of choosing them: in rounds over the batch, line by line for a few lines); a sentence
worded once is reused with its own evidence per line; rounding in arrays is Python's
``round`` to the bit; and every sentence reads only the columns its group declares.
"""

from __future__ import annotations

import gc
import json
import math

import numpy as np
import pytest

import models.scoring.reason_choice as choice
from models.contract.batch import SMALL_BATCH
from models.scoring.explain import reasons_for
from models.scoring.reason_choice import collector_paused, round4
from models.scoring.sentences import READS, SENTENCES, field_reads

NAN = float("nan")
NAMES = [
    "mfr_list_sim",
    "shp_list_sim",
    "country_of_origin",
    "log_unit_value",
    "hist_imp_inspected",
    "hist_imp_violations",
    "hist_mfr_lines",
    "lines_in_entry",
    "n_missing",
    "shipper_trader",
    "tip_count",
    "x_office_id",
    "hist_x_declarant_id_lines",
]


def _batch(n: int, seed: int = 3) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray]:
    """n lines of contributions and evidence with few distinct values (sentences repeat)."""
    rng = np.random.default_rng(seed)
    contrib = rng.normal(0, 1, (n, len(NAMES) + 1))
    contrib[rng.random((n, len(NAMES) + 1)) < 0.15] = 0.0
    contrib[:, 1] = contrib[:, 0]  # equal contributions: ties keep the label order
    pick = lambda *values: np.array(values, dtype=object)[rng.integers(0, len(values), n)]  # noqa: E731
    context = {
        "mfr_list_sim": rng.choice([NAN, 40.0, 93.5], n),
        "shp_list_sim": rng.choice([NAN, 20.0], n),
        "ev_mfr_entity_name": pick("", "Hoshine Silicon", None),
        "ev_mfr_entity_list": pick("UFLPA", "WRO"),
        "ev_mfr_entity_lists": pick("UFLPA", "WRO;UFLPA", ""),
        "ev_mfr_entity_since": pick("2023-01-02"),
        "ev_mfr_entity_later": pick("", "", "", "2024-05-01"),
        "country_of_origin_raw": pick("CN", "VN", "", None),
        "log_unit_value": rng.choice([NAN, 1.5, 2.0], n),
        "log_unit_value_z": rng.choice([NAN, -3.2, 0.4], n),
        "log_unit_value_typical": rng.choice([NAN, 2.5], n),
        "imp_key": pick("IMP-1", "IMP-2", ""),
        "hist_imp_inspected": rng.choice([0.0, math.log1p(3)], n),
        "hist_imp_violations": rng.choice([0.0, 1.0, NAN], n),
        "hist_imp_lines": rng.choice([math.log1p(10)], n),
        "hist_imp_risky_share": rng.choice([NAN, 0.5], n),
        "mfr_key": pick("M-1", ""),
        "hist_mfr_lines": rng.choice([math.log1p(4), 0.0], n),
        "hist_mfr_risky_share": rng.choice([0.25, NAN], n),
        "lines_in_entry": rng.choice([1.0, 4.0, NAN], n),
        "ev_missing": pick("", "shipper_name", "manufacturer_name|shipper_name"),
        "shipper_trader": rng.choice([0.0, 1.0], n),
        "shipper_ne_mfr": rng.choice([0.0, 1.0], n),
        "x_office_id_raw": pick("OFF-1", "", "OFF-2"),
        "x_declarant_id_raw": pick("D-7", ""),
        "hist_x_declarant_id_inspected": rng.choice([0.0, 1.0], n),
        "hist_x_declarant_id_lines": rng.choice([math.log1p(9)], n),
    }
    presumption = pick("", "", "", "uflpa_entity", "wro")
    return contrib, context, presumption


@pytest.mark.parametrize("k", [1, 3])
def test_a_batch_gives_each_line_the_reasons_it_gets_alone(k: int) -> None:
    n = 3 * SMALL_BATCH  # chosen in rounds over the batch; each line alone: line by line
    contrib, context, presumption = _batch(n)
    together = reasons_for(contrib, NAMES, context, k, presumption)
    alone = [
        reasons_for(contrib[i : i + 1], NAMES, {c: v[i : i + 1] for c, v in context.items()}, k,
                    presumption[i : i + 1])[0]
        for i in range(n)
    ]  # fmt: skip
    assert json.dumps(together) == json.dumps(alone)  # NaN evidence: equal as text
    said = [r for reasons in together for r in reasons]
    assert {r["direction"] for r in said} == {"presumes", "raises", "lowers", "note"}
    for reasons in together:
        for direction in ("raises", "lowers"):
            theirs = [r for r in reasons if r["direction"] == direction]
            assert len(theirs) <= k
            sizes = [abs(r["contribution"]) for r in theirs]
            assert sizes == sorted(sizes, reverse=True)
    # Some lines run out of candidates in rounds: a group withheld for lack of evidence.
    assert any(len([r for r in rs if r["direction"] == "raises"]) < k for rs in together)


def test_a_sentence_worded_once_gives_each_line_its_own_evidence() -> None:
    contrib, context, _ = _batch(4 * SMALL_BATCH)
    reasons = reasons_for(contrib, NAMES, context, 3)
    by_text: dict[str, list[dict]] = {}
    for line in reasons:
        for r in line:
            by_text.setdefault(r["text"] + json.dumps(r["evidence"]), []).append(r)
    shared = [rs for rs in by_text.values() if len(rs) > 1]
    assert shared  # the same sentence on several lines
    for rs in shared:
        assert len({id(r["evidence"]) for r in rs}) == len(rs)
    rs = shared[0]
    rs[0]["evidence"]["changed"] = True  # one line's evidence changed by a caller
    assert "changed" not in rs[1]["evidence"]


def test_equal_contributions_keep_the_label_order_in_both_ways_of_choosing() -> None:
    names = ["lines_in_entry", "country_of_origin"]
    for n in (1, SMALL_BATCH + 1):
        contrib = np.tile([0.5, 0.5, 0.0], (n, 1))
        context = {
            "lines_in_entry": np.full(n, 2.0),
            "country_of_origin_raw": np.array(["CN"] * n, dtype=object),
        }
        for reasons in reasons_for(contrib, names, context, 1):
            assert [r["code"] for r in reasons] == ["entry_shape"]  # before "origin"
        for reasons in reasons_for(contrib, names, context, 2):
            assert [r["code"] for r in reasons] == ["entry_shape", "origin"]


def test_a_line_without_evidence_in_a_batch_has_no_reasons() -> None:
    n = SMALL_BATCH + 5
    contrib = np.ones((n, 2))
    contrib[0] = 0.0  # no contribution: nothing to say
    got = reasons_for(contrib, ["lines_in_entry"], {"lines_in_entry": np.full(n, 3.0)}, 2)
    assert got[0] == [] and all(len(r) == 1 for r in got[1:])
    assert got[1][0]["share"] == 1.0 and got[1][0]["contribution"] == 1.0
    nothing = reasons_for(np.ones((n, 2)), ["lines_in_entry"], {}, 2)
    assert nothing == [[] for _ in range(n)]


@pytest.mark.parametrize("n", [1, SMALL_BATCH, SMALL_BATCH + 1, 5000])
def test_rounding_in_arrays_is_pythons_round_to_the_bit(n: int) -> None:
    rng = np.random.default_rng(n)
    halves = (rng.integers(-(10**6), 10**6, n) + 0.5) / 1e4  # ties, as near as doubles get
    x = np.concatenate([rng.normal(0, 1, n), halves, rng.normal(0, 1e-3, n), [0.0, -0.0]])
    x = np.concatenate([x, [NAN, math.inf, -math.inf, 1e12 + 0.00005, -2.5e-5, 1.23455]])
    got, want = round4(x), [round(v, 4) for v in x.tolist()]
    assert [v.hex() for v in got] == [v.hex() for v in want]


def test_the_collector_is_paused_for_the_batch_and_back_as_it_was() -> None:
    assert gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(ValueError), collector_paused():
        raise ValueError
    assert gc.isenabled()
    gc.disable()
    try:
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # turned off by someone else: left to them
    finally:
        gc.enable()
    contrib, context, presumption = _batch(SMALL_BATCH + 1)
    reasons_for(contrib, NAMES, context, 3, presumption)
    assert gc.isenabled()


class _Strict:
    """A row that refuses the columns its group does not declare."""

    def __init__(self, values: dict, reads: tuple[str, ...]) -> None:
        self.values, self.reads = values, reads

    def get(self, key: str, default: object = None) -> object:
        assert key in self.reads, f"{key} read but not declared"
        return self.values.get(key, default)


def test_sentences_read_only_the_columns_their_group_declares(monkeypatch) -> None:
    monkeypatch.setattr(choice, "_key_row", _Strict)
    contrib, context, presumption = _batch(3 * SMALL_BATCH, seed=5)  # keyed: in rounds
    reasons_for(contrib, NAMES, context, 20, presumption)
    # Every maker, every branch the sentence tests reach: here with every column present.
    everything = {c: "x|y" for group in READS.values() for c in group}
    for code, maker in SENTENCES.items():
        for up in (True, False):
            maker(_Strict(everything, READS[code]), up)  # type: ignore[arg-type]
    assert field_reads("field:x_a") == ("x_a_raw", "x_a")
    assert field_reads("history:x_a")[:2] == ("x_a_raw", "x_a")


def test_a_sentence_reading_an_undeclared_column_is_caught(monkeypatch) -> None:
    monkeypatch.setattr(choice, "_key_row", _Strict)
    monkeypatch.setitem(READS, "entry_shape", ("country_of_origin_raw",))
    n = SMALL_BATCH + 1
    with pytest.raises(AssertionError, match="lines_in_entry read but not declared"):
        reasons_for(np.ones((n, 2)), ["lines_in_entry"], {"lines_in_entry": np.ones(n)}, 1)


@pytest.mark.parametrize("n", [1, SMALL_BATCH + 1])
def test_many_equal_contributions_keep_the_label_order(n: int) -> None:
    # More groups than an insertion sort handles: only a stable sort keeps their order.
    names = [f"x_f{j}" for j in range(40)]
    contrib = np.tile([*([0.25] * 20), *([-0.25] * 20), 0.0], (n, 1))
    context = {f"{c}_raw": np.array(["v"] * n, dtype=object) for c in names}
    up = sorted(f"field:{c}" for c in names[:20])[:3]
    down = sorted(f"field:{c}" for c in names[20:])[:3]
    for reasons in reasons_for(contrib, names, context, 3):
        assert [r["code"] for r in reasons] == [*up, *down]


def test_a_line_without_a_presumption_may_carry_none() -> None:
    contrib, context, _ = _batch(2)
    none = reasons_for(contrib, NAMES, context, 3, np.array([None, ""], dtype=object))
    assert json.dumps(none) == json.dumps(reasons_for(contrib, NAMES, context, 3))
    assert not [r for rs in none for r in rs if r["direction"] == "presumes"]


def test_a_negative_zero_is_worded_apart_from_zero() -> None:
    n = SMALL_BATCH + 2
    names = ["log_unit_value"]
    context = {
        "log_unit_value": np.full(n, 1.0),
        "log_unit_value_typical": np.full(n, 1.0),
        "log_unit_value_z": np.array([0.0, -0.0] * (n // 2)),
    }
    reasons = reasons_for(np.ones((n, 2)), names, context, 1)
    z = [json.dumps(r[0]["evidence"]["robust_z"]) for r in reasons]
    assert z == ["0.0", "-0.0"] * (n // 2)
    # Worded alone in either direction, as the line scored by itself is: lines 2 and 3 of
    # every four lower the score, so -0.0 is met raising and lowering.
    contrib = np.ones((n, 2))
    contrib[np.arange(n) % 4 >= 2] = -1.0
    batch = reasons_for(contrib, names, context, 1)
    alone = [
        reasons_for(contrib[i : i + 1], names, {c: v[i : i + 1] for c, v in context.items()}, 1)[0]
        for i in range(n)
    ]
    assert json.dumps(batch) == json.dumps(alone)
    assert {r[0]["direction"] for r in batch} == {"raises", "lowers"}


def test_a_batch_without_any_contribution_has_no_reasons() -> None:
    # No line has a candidate in either direction: the rounds end before the first.
    n = SMALL_BATCH + 3
    got = reasons_for(np.zeros((n, 2)), ["lines_in_entry"], {"lines_in_entry": np.full(n, 3.0)}, 2)
    assert got == [[] for _ in range(n)]
    lines, dirs, groups, said = choice.chosen(
        np.zeros((n, 1)),
        np.ones((n, 1), dtype=bool),
        2,
        None,  # type: ignore[arg-type]
    )
    assert said == [] and all(len(a) == 0 and a.dtype == np.int64 for a in (lines, dirs, groups))
