"""The tip features: counts by status, leak-free in training, the reasons' matching in serving."""

from __future__ import annotations

from typing import Any

import numpy as np

from models.features.cache import SignalCache
from models.features.tips import TIP_FEATURES, TipIndex, tip_features

# make_lines: lines 0 and 1 of ACME TEXTILE CO entered 2025-01-10, line 2 of MUELLER GMBH
# entered 2025-02-01.


def _tip(tip_id: int, name: str | None = "Acme Textile Company", **kw: Any) -> dict[str, Any]:
    party = {"role": kw.pop("role", "manufacturer"), "name": name,
             "party_id": kw.pop("party_id", None)}  # fmt: skip
    return {"id": tip_id, "received_date": "2025-01-01", "source_type": "ngo", "status": "new",
            "duplicate_of": None, "parties": [party], **kw}  # fmt: skip


def _counts(lines: Any, tips: list[dict[str, Any]], training: bool = True) -> dict[str, list]:
    as_of = lines["entry_date"] if training else None
    got = tip_features(lines, TipIndex.from_tips(tips), SignalCache(), as_of)
    assert list(got) == list(TIP_FEATURES)
    return {k: v.tolist() for k, v in got.items() if v.any()}


def test_tips_count_by_role_and_status_in_any_spelling(make_lines: Any) -> None:
    lines = make_lines(importer_id=["IMP-1", "IMP-2", "IMP-1"])
    tips = [
        _tip(1),
        _tip(2, corroborated_at="2025-01-05T09:00:00Z", status="corroborated"),
        _tip(3, None, role="importer", party_id="IMP-1"),
        _tip(4, "Mueller GmbH", role="shipper"),  # a supplier: counts where it manufactures
    ]
    assert _counts(lines, tips) == {
        "tip_mfr_new": [1.0, 1.0, 1.0],
        "tip_mfr_corroborated": [1.0, 1.0, 0.0],
        "tip_imp_new": [1.0, 0.0, 1.0],
    }


def test_a_tip_after_the_entry_date_changes_no_training_feature(make_lines: Any) -> None:
    lines = make_lines()
    later = _tip(1, received_date="2025-01-11")
    assert _counts(lines, [later]) == {}
    # The same day counts, as it gives the line its tip reason.
    assert _counts(lines, [_tip(1, received_date="2025-01-10")])["tip_mfr_new"] == [1, 1, 0]


def test_statuses_are_taken_as_of_the_entry_date_in_training(make_lines: Any) -> None:
    lines = make_lines()
    # Corroborated on the entry day or later (e.g. by this line's own inspection): still new
    # for the line in training; corroborated for a line scored now.
    on_the_day = _tip(1, status="corroborated", corroborated_at="2025-01-10T08:00:00Z")
    assert _counts(lines, [on_the_day]) == {"tip_mfr_new": [1.0, 1.0, 0.0]}
    assert _counts(lines, [on_the_day], training=False) == {"tip_mfr_corroborated": [1.0, 1.0, 0.0]}
    # Dismissed after the entry: it counted then (training), and counts no more (serving).
    dismissed = _tip(2, status="dismissed", dismissed_at="2025-01-20T08:00:00Z")
    assert _counts(lines, [dismissed]) == {"tip_mfr_new": [1.0, 1.0, 0.0]}
    assert _counts(lines, [dismissed], training=False) == {}
    # Dismissed before the entry: no count either way.
    gone = _tip(3, status="dismissed", dismissed_at="2025-01-05T08:00:00Z")
    assert _counts(lines, [gone]) == {} and _counts(lines, [gone], training=False) == {}


def test_a_tip_counts_once_per_line_and_duplicates_not_at_all(make_lines: Any) -> None:
    lines = make_lines(manufacturer_id=["MID-1", "MID-1", "MID-2"])
    by_name_and_id = _tip(1, party_id="MID-1")
    duplicate = _tip(2, duplicate_of=1)
    assert _counts(lines, [by_name_and_id, duplicate]) == {"tip_mfr_new": [1.0, 1.0, 0.0]}


def test_training_and_serving_agree_once_every_status_change_is_past(make_lines: Any) -> None:
    lines = make_lines(shipper_name=["ACME TEXTILE", None, "MUELLER GMBH"])
    tips = [
        _tip(1, status="corroborated", corroborated_at="2025-01-02T10:00:00Z"),
        _tip(2, "Mueller", role="shipper", status="dismissed", dismissed_at="2025-01-03"),
        _tip(3, "Mueller GmbH", role="shipper"),
    ]
    assert (
        _counts(lines, tips)
        == _counts(lines, tips, training=False)
        == {
            "tip_mfr_corroborated": [1.0, 1.0, 0.0],
            "tip_shp_corroborated": [1.0, 0.0, 0.0],
            "tip_mfr_new": [0.0, 0.0, 1.0],
            "tip_shp_new": [0.0, 0.0, 1.0],
        }
    )


def test_no_tips_give_zeros(make_lines: Any) -> None:
    got = tip_features(make_lines(), None, SignalCache())
    assert all(np.array_equal(v, np.zeros(3)) for v in got.values())
