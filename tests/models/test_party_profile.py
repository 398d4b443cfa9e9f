"""Party profiles over hand-made store rows: resolution, list matches, presumption, statuses."""

from __future__ import annotations

import json
from typing import Any

from models.parties import Section, build_profile, entry_statuses, line_status, worst
from models.store import AuditStore, PartyLines
from models.store.parties import like_escape

LISTED = {"code": "listed_entity", "direction": "raises", "contribution": 1.2,
          "evidence": {"role": "manufacturer", "entity_id": "UFLPA-0001",
                       "entity": "Hoshine Silicon Industry (Shanshan) Co. Ltd",
                       "matched_alias": "Hoshine Silicon Ind Shanshan", "similarity": 96.0,
                       "list": "UFLPA", "citation": "87 FR 39500"}}  # fmt: skip
XJ = {"code": "xinjiang_address", "direction": "raises", "contribution": 0.8,
      "evidence": {"terms": ["SHANSHAN"], "place": "Turpan"}}  # fmt: skip


class Reader:
    """PartyLines' three reads over rows held in memory (the SQL is tested on a store below)."""

    def __init__(self, rows: list[dict[str, Any]], outcomes: list[dict[str, Any]]) -> None:
        self.rows, self._outcomes = rows, outcomes
        self.asked: list[list[str]] = []

    def scored_lines(self, contains: Any, limit: int) -> list[dict[str, Any]]:
        words = list(contains)
        self.asked.append(words)
        return [r for r in self.rows if any(w.lower() in r["input_json"].lower() for w in words)]

    def shown_reasons(self, entry_ids: Any) -> list[dict[str, Any]]:
        return []

    def outcomes(self, entry_ids: Any) -> list[dict[str, Any]]:
        return [o for o in self._outcomes if o["entry_id"] in set(entry_ids)]


def _row(
    i: int, entry: str, name: str, reasons: list[dict[str, Any]], **line: Any
) -> dict[str, Any]:
    body = {"entry_id": entry, "line_no": 1, "entry_date": "2024-03-0" + str(1 + i % 9),
            "manufacturer_name": name, "declared_value_usd": 100.0, **line}  # fmt: skip
    return {"id": i, "ts": f"2024-03-01T00:00:0{i}", "action": "score", "entry_id": entry,
            "line_no": 1, "input_json": json.dumps(body), "risk_score": 0.9, "risk_band": "high",
            "reasons_json": json.dumps({"reasons": reasons})}  # fmt: skip


def test_a_manufacturer_by_name_collects_spellings_matches_and_the_presumption() -> None:
    rows = [
        _row(1, "E1", "HOSHINE SILICON IND (SHANSHAN) CO LTD", [LISTED, XJ]),
        _row(2, "E2", "Hoshine Silicon Industry Shanshan Co., Ltd.", [LISTED]),
        _row(3, "E3", "HOSHINE SILICON INDUSTRY SHANSHAN LIMITED", []),
        _row(4, "E4", "HOSHINE TRADING", [XJ]),  # holds the search word, is another party
        _row(5, "E1", "HOSHINE SILICON IND (SHANSHAN) CO LTD", [LISTED, XJ]),  # E1 rescored
    ]
    rows[4]["line_no"] = 1
    outcomes = [{"entry_id": "E2", "line_no": 1, "status": "labelled", "inspected": True,
                 "violation": 1, "outcome": "detained"}]  # fmt: skip
    reader = Reader(rows, outcomes)
    extra = Section("Tips", ("id",), [{"id": "T-1"}])
    p = build_profile(
        reader,
        "manufacturer",
        "Hoshine Silicon Industry (Shanshan) Co Ltd",
        sections=[lambda party: extra if party.lines else None],
    )  # type: ignore[arg-type]
    assert p.party.mode == "name" and p.party.names == {"HOSHINE SILICON INDUSTRY SHANSHAN"}
    assert reader.asked[-1] == ["HOSHINE"]  # one distinctive word narrows the query
    assert p.totals["lines"] == 3  # E1 once (its newest scoring), E2, E3; not E4
    assert {c["spelling"] for c in p.cluster} == {
        "HOSHINE SILICON IND (SHANSHAN) CO LTD", "Hoshine Silicon Industry Shanshan Co., Ltd.",
        "HOSHINE SILICON INDUSTRY SHANSHAN LIMITED",
    }  # fmt: skip
    (match,) = p.list_matches
    assert match["entity_id"] == "UFLPA-0001" and match["lines"] == 2
    assert match["aliases"] == ["Hoshine Silicon Ind Shanshan"]
    assert p.presumption["lines"] == 2 and p.presumption["xinjiang_lines"] == 1
    assert p.presumption["terms"] == ["SHANSHAN"]
    assert p.totals["inspected"] == 1 and p.totals["violations"] == 1
    assert [o["status"] for o in p.outcomes] == ["detained"]
    assert p.totals["explained_lines"] == 2
    assert p.sections == [extra]


def test_an_unknown_key_has_no_lines() -> None:
    p = build_profile(Reader([], []), "shipper", "Nobody Ltd")
    assert p.totals["lines"] == 0 and p.cluster == [] and p.sections == []


def test_statuses_rank_the_most_serious_first() -> None:
    assert line_status(None) == "not examined"
    assert line_status({"status": "review"}) == "under review"
    assert (
        line_status({"status": "labelled", "inspected": True, "violation": 1}) == "violation found"
    )
    assert line_status({"status": "labelled", "inspected": True, "violation": 0}) == "examined"
    assert worst(["released", "detained", "examined"]) == "detained"
    assert worst(["examined", "held for lab test"]) == "held for lab test"  # free text: mid
    got = entry_statuses([
        {"entry_id": "A", "line_no": 1, "status": "labelled", "outcome": "released"},
        {"entry_id": "A", "line_no": 2, "status": "labelled", "outcome": "seized"},
        {"entry_id": "B", "line_no": 1, "status": "review"},
    ])  # fmt: skip
    assert got == {"A": "seized", "B": "under review"}


def test_the_store_reads_match_text_literally(tmp_path: Any) -> None:
    from models.audit_rows import AuditRows, ModelStamp

    store = AuditStore(f"sqlite:///{tmp_path / 'a.db'}")
    store.create()
    stamp = ModelStamp("models:/m/1", "h")
    lines = [{"entry_id": "E1", "line_no": 1, "importer_id": "A_1%"},
             {"entry_id": "E2", "line_no": 1, "importer_id": "AB1x"}]  # fmt: skip
    results = [{"entry_id": ln["entry_id"], "line_no": 1, "risk_score": 0.5, "risk_band": "low",
                "reasons": [], "decision_id": ""} for ln in lines]  # fmt: skip
    store.record(AuditRows("r", "k").scored("score", stamp, lines, results, 1.0))
    got = PartyLines(store).scored_lines(['"importer_id":"A_1%"'], 10)
    assert [r["entry_id"] for r in got] == ["E1"]  # _ and % are not wildcards here
    assert like_escape("a_b%c\\") == "a\\_b\\%c\\\\"
    store.dispose()
