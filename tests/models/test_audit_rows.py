"""Every audit row has every column of the audit table; inputs and reasons encoded one way."""

from __future__ import annotations

import hashlib
import json

import pytest

from models.audit_rows import AuditRow, AuditRows, ModelStamp
from models.store import CHAIN_COLUMNS, audit

# Every column but those the store fills in: the id and the hash chain.
COLUMNS = [c.name for c in audit.columns if c.name not in ("id", *CHAIN_COLUMNS)]
MODEL = ModelStamp("models:/flrisk/3", "b" * 64)
RESULT = {"entry_id": "E-1", "line_no": 2, "risk_score": 0.25, "risk_band": "elevated",
          "reasons": [{"code": "xinjiang_address", "contribution": 1.5}]}  # fmt: skip


def test_the_row_type_is_the_audit_table() -> None:
    assert list(AuditRow.__annotations__) == COLUMNS


def test_scored_rows_carry_input_model_and_decision() -> None:
    rows = AuditRows("r1", "k1").scored(
        "score", MODEL, [{"line_no": 2, "entry_id": "E-1"}], [RESULT], latency_ms=3.0
    )
    (row,) = rows
    assert list(row) == COLUMNS
    assert row["input_json"] == '{"entry_id":"E-1","line_no":2}'  # canonical: sorted, compact
    assert row["input_hash"] == hashlib.sha256(row["input_json"].encode()).hexdigest()
    assert (row["model_version"], row["bundle_hash"]) == ("models:/flrisk/3", "b" * 64)
    assert (row["entry_id"], row["line_no"], row["risk_band"]) == ("E-1", 2, "elevated")
    assert json.loads(row["reasons_json"]) == {"reasons": RESULT["reasons"]}
    assert (row["latency_ms"], row["action"], row["request_id"]) == (3.0, "score", "r1")
    assert row["chain_form"] == 1  # its chain hash covers the input by input_hash


def test_only_scored_rows_are_chained_by_their_inputs_hash() -> None:
    from models.audit_chain import BY_HASH

    rows = AuditRows("r", "k")
    assert [r["chain_form"] for r in rows.scored("score", MODEL, [{}] * 9, [RESULT] * 9, 1.0)] == [
        BY_HASH
    ] * 9
    (viewed,) = rows.viewed("workbench_view", MODEL, [RESULT])
    record = {"entry_id": "E-1", "line_no": 2}
    others = [viewed, rows.event("workbench_export", {"rows": 3}), rows.feedback("E-1", 2, record)]
    assert [r["chain_form"] for r in others] == [None, None, None]


def test_one_timestamp_per_request() -> None:
    rows = AuditRows("r2", "k").scored("score_file", MODEL, [{}, {}], [RESULT, RESULT], 1.0)
    assert rows[0]["ts"] == rows[1]["ts"]


def test_viewed_rows_have_the_decision_but_no_input() -> None:
    (row,) = AuditRows("r3", "k").viewed("workbench_view", MODEL, [RESULT])
    assert row["input_json"] is None and row["input_hash"] is None and row["latency_ms"] is None
    assert row["risk_score"] == 0.25 and row["model_version"] == MODEL.version
    # What the officer saw, line and decision, is what the audit says was shown.
    assert (row["entry_id"], row["line_no"], row["risk_band"]) == ("E-1", 2, "elevated")
    assert json.loads(row["reasons_json"] or "") == {"reasons": RESULT["reasons"]}
    assert (row["action"], row["request_id"], row["key_id"]) == ("workbench_view", "r3", "k")
    # A presumed line was shown with its presumption: the audit says so beside the reasons.
    presumed = {**RESULT, "presumption": "uflpa_entity"}
    (shown,) = AuditRows("r3", "k").viewed("workbench_view", MODEL, [presumed])
    stored = json.loads(shown["reasons_json"] or "")
    assert stored == {"presumption": "uflpa_entity", "reasons": RESULT["reasons"]}


def test_event_rows_are_not_about_a_line() -> None:
    row = AuditRows("r4", "-").event("workbench_signin_failed")
    assert row["entry_id"] is None and row["input_hash"] is None and row["input_json"] == "{}"
    assert row["model_version"] is None
    row = AuditRows("r5", "k").event("workbench_export", {"rows": 3}, MODEL)
    assert row["input_json"] == '{"rows":3}' and row["bundle_hash"] == MODEL.bundle_hash


def test_feedback_row_holds_the_record() -> None:
    record = {"entry_id": "E-1", "line_no": 2, "inspected": True, "violation": 1}
    row = AuditRows("r6", "k").feedback("E-1", 2, record)
    assert row["action"] == "feedback" and json.loads(row["input_json"] or "") == record
    assert row["input_hash"] == hashlib.sha256((row["input_json"] or "").encode()).hexdigest()


def _fields(row: AuditRow) -> dict[str, object]:
    # The columns named here; the store may add columns of its own (e.g. a hash chain).
    named = ("request_id", "ts", "key_id", "entry_id", "line_no", "input_hash", "input_json",
             "model_version", "bundle_hash", "risk_score", "risk_band", "reasons_json",
             "latency_ms", "action")  # fmt: skip
    return {k: row[k] for k in named}  # type: ignore[literal-required]


def test_feedback_row_is_about_its_line_with_no_model_or_decision() -> None:
    record = {"entry_id": "E-7", "line_no": 4, "inspected": False}
    rows = AuditRows("r7", "officer-2")
    row = rows.feedback("E-7", 4, record)
    text = '{"entry_id":"E-7","inspected":false,"line_no":4}'
    assert _fields(row) == {
        "request_id": "r7", "ts": rows.ts, "key_id": "officer-2", "entry_id": "E-7",
        "line_no": 4, "input_hash": hashlib.sha256(text.encode()).hexdigest(),
        "input_json": text, "model_version": None, "bundle_hash": None, "risk_score": None,
        "risk_band": None, "reasons_json": None, "latency_ms": None, "action": "feedback",
    }  # fmt: skip


def test_scored_row_holds_every_field_of_its_line() -> None:
    rows = AuditRows("r8", "screening-1")
    (row,) = rows.scored("score", MODEL, [{"a": 1}], [RESULT], latency_ms=7.5)
    text = '{"a":1}'
    assert _fields(row) == {
        "request_id": "r8", "ts": rows.ts, "key_id": "screening-1", "entry_id": "E-1",
        "line_no": 2, "input_hash": hashlib.sha256(text.encode()).hexdigest(),
        "input_json": text, "model_version": MODEL.version, "bundle_hash": MODEL.bundle_hash,
        "risk_score": 0.25, "risk_band": "elevated",
        "reasons_json": '{"reasons":[{"code":"xinjiang_address","contribution":1.5}]}',
        "latency_ms": 7.5, "action": "score",
    }  # fmt: skip
    with pytest.raises(ValueError):  # a result per input, no fewer
        rows.scored("score", MODEL, [{"a": 1}, {"a": 2}], [RESULT], latency_ms=1.0)


def test_reasons_are_stored_with_keys_sorted_whatever_order_they_were_built_in() -> None:
    """The same reasons give the same stored text (and so the same row hash) however built."""
    built = [{"contribution": 1.5, "code": "xinjiang_address", "evidence": {"z": 1, "a": 2}}]
    text = '[{"code":"xinjiang_address","contribution":1.5,"evidence":{"a":2,"z":1}}]'
    rows = AuditRows("r9", "k")
    (scored,) = rows.scored("score", MODEL, [{}], [{**RESULT, "reasons": built}], 1.0)
    assert scored["reasons_json"] == '{"reasons":' + text + "}"
    presumed = {**RESULT, "reasons": built, "presumption": "uflpa_entity"}
    (shown,) = rows.viewed("workbench_view", MODEL, [presumed])
    assert shown["reasons_json"] == '{"presumption":"uflpa_entity","reasons":' + text + "}"


def test_a_batch_of_lines_gives_the_rows_each_line_gives_alone() -> None:
    """The inputs' JSON made for a whole request is each line's canonical JSON and hash."""
    from models.store import canonical_json

    lines = [{"entry_id": f"E-{i}", "line_no": i, "declared_value_usd": i * 10.5,
              "goods_description": "T-SHIRTS ☃", "quantity": 3.0e-05 if i == 5 else 2.0}
             for i in range(20)]  # fmt: skip
    results = [{**RESULT, "entry_id": f"E-{i}", "line_no": i} for i in range(20)]
    rows = AuditRows("r10", "k")
    batch = rows.scored("score", MODEL, lines, results, latency_ms=2.0)
    alone = [
        rows.scored("score", MODEL, [ln], [res], 2.0)[0]
        for ln, res in zip(lines, results, strict=True)
    ]
    assert batch == alone
    assert [r["input_json"] for r in batch] == [canonical_json(ln) for ln in lines]
    assert [r["input_hash"] for r in batch] == [
        hashlib.sha256(canonical_json(ln).encode()).hexdigest() for ln in lines
    ]
    assert json.loads(batch[5]["input_json"])["quantity"] == 3.0e-05
    assert rows.scored("score", MODEL, [], [], latency_ms=1.0) == []
    with pytest.raises(ValueError):  # a result per input, no more
        rows.scored("score", MODEL, [{"a": 1}], [RESULT, RESULT], latency_ms=1.0)
