"""Tips as evidence on lines: which lines a tip names, when, by which party, and when not."""

from __future__ import annotations

from typing import Any

from models.features.cache import SignalCache
from models.scoring.tip_reasons import TipIndex, merge_reasons, tip_reasons


def _tip(tip_id: int, name: str | None, role: str = "manufacturer", **kw: Any) -> dict[str, Any]:
    party = {"role": role, "name": name, "party_id": kw.pop("party_id", None)}
    return {"id": tip_id, "received_date": "2025-01-10", "source_type": "ngo", "status": "new",
            "duplicate_of": None, "parties": [party], **kw}  # fmt: skip


def _codes(lines: Any, tips: list[dict[str, Any]]) -> dict[int, list[int]]:
    found = tip_reasons(lines, TipIndex.from_tips(tips), SignalCache())
    return {i: [r["evidence"]["tip_id"] for r in rs] for i, rs in found.items()}


def test_a_tip_names_later_lines_of_its_party_in_any_spelling(make_lines: Any) -> None:
    lines = make_lines(entry_date=["2025-01-09", "2025-01-10", "2025-02-01"])
    # "ACME TEXTILE CO" on the lines; the tip spells it otherwise. Line 0 predates the tip.
    assert _codes(lines, [_tip(7, "Acme Textile Company Limited")]) == {1: [7]}
    found = tip_reasons(lines, TipIndex.from_tips([_tip(7, "acme textile")]), SignalCache())
    assert found[1][0]["text"] == (
        "An allegation received 2025-01-10 from an NGO names this manufacturer (tip 7)."
    )
    assert found[1][0]["code"] == "tip" and found[1][0]["direction"] == "raises"


def test_roles_ids_dismissed_and_duplicates(make_lines: Any) -> None:
    lines = make_lines(shipper_name=["X", "ACME TEXTILE CO", "MUELLER GMBH"],
                       importer_id=["IMP-1", "IMP-1", "IMP-2"])  # fmt: skip
    # A shipper tip names a supplier: it counts where the party manufactures or ships.
    assert _codes(lines, [_tip(1, "Mueller GmbH", role="shipper")]) == {2: [1]}
    # An importer tip matches importers (here by ID), never suppliers of the same name.
    assert _codes(lines, [_tip(2, None, role="importer", party_id="IMP-2")]) == {2: [2]}
    assert _codes(lines, [_tip(3, "ACME TEXTILE CO", role="importer")]) == {}
    assert _codes(lines, [_tip(4, "ACME TEXTILE CO", status="dismissed")]) == {}
    # A duplicate is no second reason: it is a further report of its original.
    tips = [_tip(5, "ACME TEXTILE CO"), _tip(6, "ACME TEXTILE", duplicate_of=5)]
    found = tip_reasons(lines, TipIndex.from_tips(tips), SignalCache())
    assert [r["evidence"]["tip_id"] for r in found[0]] == [5]
    assert found[0][0]["evidence"]["reports"] == 2 and "reported 2 times" in found[0][0]["text"]


def test_tip_reasons_follow_the_raising_ones() -> None:
    tip = {"code": "tip", "direction": "raises"}
    up, down = {"code": "a", "direction": "raises"}, {"code": "b", "direction": "lowers"}
    assert merge_reasons([up, down], [tip], as_json=False) == [up, tip, down]
    assert merge_reasons(None, [tip], as_json=False) == [tip]
    assert merge_reasons("[]", [tip], as_json=True) == '[{"code":"tip","direction":"raises"}]'
